/**
 * Turns the steps of one frame (the top level, or one branch of a Condition) and what each waits
 * for into nested sequences and parallels — the shapes Step Functions has (a list of states, a
 * Parallel state) — so that every step starts once everything it waits for has finished and
 * independent steps run at the same time.
 *
 * Series-parallel graphs (forks and joins, which is how pipelines are drawn) come out exact. A
 * graph that is not (e.g. a→c, b→c, b→d: d need not wait for a) cannot be written with sequences
 * and parallels alone; there the cut that adds the fewest extra waits is taken, and the extra waits
 * are reported so the caller can show them. Never does a step start before what it waits for. Pure.
 */

export type Block = { kind: 'step'; name: string } | { kind: 'sequence'; items: Block[] } | { kind: 'parallel'; branches: Block[] };

export interface Decomposition {
  block: Block;
  /** Waits the shape adds beyond the graph's own: [step that waits, step it waits for]. */
  extraWaits: [string, string][];
}

/**
 * Decomposes `nodes` (in a stable order) whose dependencies are `waitsFor(node)` (only edges
 * between `nodes` count). Throws on a cycle (callers check for cycles first).
 */
export function decompose(nodes: readonly string[], waitsFor: (node: string) => Iterable<string>): Decomposition {
  const index = new Map(nodes.map((node, position) => [node, position]));
  const predecessors = nodes.map((node) => [...waitsFor(node)].filter((dependency) => index.has(dependency)).map((dependency) => index.get(dependency)!));
  const reach = ancestors(nodes.length, predecessors);
  const extraWaits: [string, string][] = [];

  const build = (members: number[]): Block => {
    if (members.length === 1) return { kind: 'step', name: nodes[members[0]!]! };
    const components = connectedComponents(members, predecessors);
    if (components.length > 1) return { kind: 'parallel', branches: components.map(build) };
    const ordered = topologicalOrder(members, predecessors);
    const cut = seriesCut(ordered, reach);
    const prefix = ordered.slice(0, cut.at);
    const suffix = ordered.slice(cut.at);
    for (const [waiting, waitedFor] of cut.extra) extraWaits.push([nodes[waiting]!, nodes[waitedFor]!]);
    return flatten({ kind: 'sequence', items: [build(prefix), build(suffix)] });
  };

  return { block: build(nodes.map((_node, position) => position)), extraWaits };
}

/** reach[a] holds every node that a transitively waits for. */
function ancestors(count: number, predecessors: number[][]): Set<number>[] {
  const memo: (Set<number> | undefined)[] = new Array(count);
  const visiting = new Set<number>();
  const of = (node: number): Set<number> => {
    const known = memo[node];
    if (known) return known;
    if (visiting.has(node)) throw new Error('the graph has a cycle');
    visiting.add(node);
    const all = new Set<number>();
    for (const predecessor of predecessors[node]!) {
      all.add(predecessor);
      for (const further of of(predecessor)) all.add(further);
    }
    visiting.delete(node);
    memo[node] = all;
    return all;
  };
  return Array.from({ length: count }, (_value, node) => of(node));
}

/** Weakly connected components of `members`, each in the members' order. */
function connectedComponents(members: number[], predecessors: number[][]): number[][] {
  const inside = new Set(members);
  const neighbours = new Map<number, Set<number>>(members.map((member) => [member, new Set<number>()]));
  for (const member of members) {
    for (const predecessor of predecessors[member]!) {
      if (!inside.has(predecessor)) continue;
      neighbours.get(member)!.add(predecessor);
      neighbours.get(predecessor)!.add(member);
    }
  }
  const seen = new Set<number>();
  const components: number[][] = [];
  for (const start of members) {
    if (seen.has(start)) continue;
    const component: number[] = [];
    const stack = [start];
    seen.add(start);
    while (stack.length > 0) {
      const node = stack.pop()!;
      component.push(node);
      for (const next of neighbours.get(node)!) {
        if (seen.has(next)) continue;
        seen.add(next);
        stack.push(next);
      }
    }
    components.push(component.sort((a, b) => a - b));
  }
  return components;
}

/** Members ordered by depth (longest chain of waits within the members), then declaration order. */
function topologicalOrder(members: number[], predecessors: number[][]): number[] {
  const inside = new Set(members);
  const depth = new Map<number, number>();
  const depthOf = (node: number): number => {
    const known = depth.get(node);
    if (known !== undefined) return known;
    const value = Math.max(0, ...predecessors[node]!.filter((p) => inside.has(p)).map((p) => depthOf(p) + 1));
    depth.set(node, value);
    return value;
  };
  return [...members].sort((a, b) => depthOf(a) - depthOf(b) || a - b);
}

/**
 * Where to split a connected set in two, in topological order: the first cut after which every
 * node waits (transitively) for every node before it — a true series composition. When there is
 * none, the cut that adds the fewest waits, and those waits.
 */
function seriesCut(ordered: number[], reach: Set<number>[]): { at: number; extra: [number, number][] } {
  let best: { at: number; extra: [number, number][] } | undefined;
  for (let at = 1; at < ordered.length; at += 1) {
    const extra: [number, number][] = [];
    for (const later of ordered.slice(at)) {
      for (const earlier of ordered.slice(0, at)) if (!reach[later]!.has(earlier)) extra.push([later, earlier]);
    }
    if (extra.length === 0) return { at, extra };
    if (!best || extra.length < best.extra.length) best = { at, extra };
  }
  return best!;
}

/** Sequences inside sequences become one sequence. */
function flatten(block: Block): Block {
  if (block.kind !== 'sequence') return block;
  return { kind: 'sequence', items: block.items.flatMap((item) => (item.kind === 'sequence' ? item.items : [item])) };
}
