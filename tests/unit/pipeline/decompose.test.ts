import { type Block, decompose } from '../../../shared/pipeline/decompose';

const step = (name: string): Block => ({ kind: 'step', name });
const sequence = (...items: Block[]): Block => ({ kind: 'sequence', items });
const parallel = (...branches: Block[]): Block => ({ kind: 'parallel', branches });

/** Decomposes a graph written as {step: [what it waits for]}, in the object's key order. */
function decomposeGraph(graph: Record<string, string[]>) {
  return decompose(Object.keys(graph), (node) => graph[node] ?? []);
}

/** The steps of a block, in the order they appear. */
function stepsOf(block: Block): string[] {
  if (block.kind === 'step') return [block.name];
  return (block.kind === 'sequence' ? block.items : block.branches).flatMap(stepsOf);
}

/** Every wait the shape imposes, as "waiting<waited for": each step waits for everything in earlier items of its sequences. */
function waitsOfShape(block: Block, out = new Set<string>()): Set<string> {
  if (block.kind === 'sequence') {
    block.items.forEach((item, index) => {
      for (const later of block.items.slice(index + 1)) for (const waiting of stepsOf(later)) for (const waited of stepsOf(item)) out.add(`${waiting}<${waited}`);
      waitsOfShape(item, out);
    });
  }
  if (block.kind === 'parallel') block.branches.forEach((branch) => waitsOfShape(branch, out));
  return out;
}

/** Everything a step waits for, directly or not. */
function closure(graph: Record<string, string[]>, node: string): Set<string> {
  const all = new Set<string>();
  const stack = [...(graph[node] ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (all.has(next)) continue;
    all.add(next);
    stack.push(...(graph[next] ?? []));
  }
  return all;
}

/** Random DAGs (a fixed seed, so every run tests the same graphs), nodes declared in a shuffled order. */
function randomGraphs(count: number): Record<string, string[]>[] {
  let seed = 20261204;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  return Array.from({ length: count }, () => {
    const size = 2 + Math.floor(random() * 7);
    const density = random();
    const names = Array.from({ length: size }, (_value, index) => `n${index}`);
    const waits = names.map((_name, index) => names.slice(0, index).filter(() => random() < density));
    const order = names.map((name, index) => ({ name, waits: waits[index]!, key: random() })).sort((a, b) => a.key - b.key);
    return Object.fromEntries(order.map(({ name, waits: w }) => [name, w]));
  });
}

/**
 * Random series-parallel graphs (fixed seed), built the way pipelines are drawn: in series, each
 * first step of the second part waits for each last step of the first; in parallel, no waits.
 */
function randomSeriesParallelGraphs(count: number): Record<string, string[]>[] {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  let counter = 0;
  interface Part {
    waits: Map<string, string[]>;
    firsts: string[];
    lasts: string[];
  }
  const build = (depth: number): Part => {
    if (depth === 0 || random() < 0.25) {
      const name = `s${(counter += 1)}`;
      return { waits: new Map([[name, []]]), firsts: [name], lasts: [name] };
    }
    const parts = Array.from({ length: 2 + Math.floor(random() * 2) }, () => build(depth - 1));
    const waits = new Map(parts.flatMap((part) => [...part.waits]));
    if (random() < 0.5) return { waits, firsts: parts.flatMap((part) => part.firsts), lasts: parts.flatMap((part) => part.lasts) };
    parts.slice(1).forEach((part, index) => part.firsts.forEach((first) => waits.get(first)!.push(...parts[index]!.lasts)));
    return { waits, firsts: parts[0]!.firsts, lasts: parts.at(-1)!.lasts };
  };
  return Array.from({ length: count }, () => {
    counter = 0;
    const entries = [...build(3).waits];
    // Declared in a shuffled order: the file's order must not matter for exactness.
    return Object.fromEntries(entries.map((entry) => ({ entry, key: random() })).sort((a, b) => a.key - b.key).map(({ entry }) => entry));
  });
}

describe('decompose', () => {
  it('gives a lone step as itself', () => {
    expect(decomposeGraph({ only: [] })).toEqual({ block: step('only'), extraWaits: [] });
  });

  it('gives a chain as one sequence', () => {
    const result = decomposeGraph({ a: [], b: ['a'], c: ['b'] });

    expect(result).toEqual({ block: sequence(step('a'), step('b'), step('c')), extraWaits: [] });
  });

  it('gives a fork and a join as a sequence around a parallel', () => {
    const result = decomposeGraph({ prepare: [], left: ['prepare'], right: ['prepare'], join: ['left', 'right'] });

    expect(result).toEqual({ block: sequence(step('prepare'), parallel(step('left'), step('right')), step('join')), extraWaits: [] });
  });

  it('keeps the branches of a diamond as chains of their own length', () => {
    const result = decomposeGraph({ a: [], b1: ['a'], b2: ['b1'], c: ['a'], d: ['b2', 'c'] });

    expect(result).toEqual({ block: sequence(step('a'), parallel(sequence(step('b1'), step('b2')), step('c')), step('d')), extraWaits: [] });
  });

  it('runs two independent chains side by side', () => {
    const result = decomposeGraph({ a1: [], a2: ['a1'], b1: [], b2: ['b1'] });

    expect(result).toEqual({ block: parallel(sequence(step('a1'), step('a2')), sequence(step('b1'), step('b2'))), extraWaits: [] });
  });

  it('runs independent steps all at once', () => {
    const result = decomposeGraph({ x: [], y: [], z: [] });

    expect(result).toEqual({ block: parallel(step('x'), step('y'), step('z')), extraWaits: [] });
  });

  it('needs no extra wait for a redundant (transitive) dependency', () => {
    const result = decomposeGraph({ a: [], b: ['a'], c: ['a', 'b'] });

    expect(result).toEqual({ block: sequence(step('a'), step('b'), step('c')), extraWaits: [] });
  });

  it('shapes the N graph (a→c, b→c, b→d) with exactly one extra wait, and reports it', () => {
    const result = decomposeGraph({ a: [], b: [], c: ['a', 'b'], d: ['b'] });

    // d need not wait for a, but no sequence-and-parallel shape avoids it with fewer waits.
    expect(result).toEqual({ block: sequence(parallel(step('a'), step('b')), parallel(step('c'), step('d'))), extraWaits: [['d', 'a']] });
  });

  it('gives the same shape for the same graph every time', () => {
    const graph = { a: [], b: [], c: ['a', 'b'], d: ['b'], e: ['c', 'd'], f: [] };

    expect(JSON.stringify(decomposeGraph(graph))).toBe(JSON.stringify(decomposeGraph(structuredClone(graph))));
  });

  it('orders the branches of a parallel as the steps are declared', () => {
    const result = decomposeGraph({ zeta: [], alpha: [], mu: [] });

    expect(result.block).toEqual(parallel(step('zeta'), step('alpha'), step('mu')));
  });

  it('ignores waits for steps outside the given ones (another frame\'s steps)', () => {
    const result = decompose(['register', 'announce'], (node) => (node === 'announce' ? ['register', 'train'] : ['evaluate']));

    expect(result).toEqual({ block: sequence(step('register'), step('announce')), extraWaits: [] });
  });

  it('throws on a cycle', () => {
    expect(() => decomposeGraph({ a: ['b'], b: ['a'] })).toThrow('the graph has a cycle');
  });

  it('adds no wait to any series-parallel graph (200 random ones)', () => {
    const inexact = randomSeriesParallelGraphs(200).filter((graph) => decomposeGraph(graph).extraWaits.length > 0);

    expect(inexact).toEqual([]);
  });

  describe('on 500 random graphs', () => {
    const graphs = randomGraphs(500);

    it('places every step exactly once', () => {
      const misplaced = graphs.filter((graph) => {
        const steps = stepsOf(decomposeGraph(graph).block);
        return steps.length !== Object.keys(graph).length || new Set(steps).size !== steps.length;
      });

      expect(misplaced).toEqual([]);
    });

    it('never starts a step before what it waits for', () => {
      const violations = graphs.flatMap((graph) => {
        const shape = waitsOfShape(decomposeGraph(graph).block);
        return Object.entries(graph).flatMap(([node, waits]) => waits.filter((waited) => !shape.has(`${node}<${waited}`)).map((waited) => ({ graph, node, waited })));
      });

      expect(violations).toEqual([]);
    });

    it('reports exactly the waits the shape adds beyond the graph\'s own', () => {
      const mismatches = graphs.filter((graph) => {
        const { block, extraWaits } = decomposeGraph(graph);
        const added = [...waitsOfShape(block)].filter((pair) => {
          const [waiting = '', waited = ''] = pair.split('<');
          return !closure(graph, waiting).has(waited);
        });
        return JSON.stringify(added.sort()) !== JSON.stringify(extraWaits.map(([waiting, waited]) => `${waiting}<${waited}`).sort());
      });

      expect(mismatches).toEqual([]);
    });
  });
});
