/**
 * EventBridge's input transformer (a target's `InputTransformer`: `InputPathsMap` + `InputTemplate`),
 * as the EventBridge user guide describes it ("Amazon EventBridge input transformation",
 * eb-transform-target-input): each variable is a JSON path into the event (dot notation, array
 * indices); `<name>` in the template is replaced by its value. The quoting rules:
 * - inside a quoted string of the template the value goes in raw (a string without quotes; EventBridge
 *   does not escape values), anything else as its JSON;
 * - outside quotes the value goes in as JSON (a string with its quotes: `"instance": <instance>`);
 * - a path that matches nothing creates no variable (its placeholder becomes nothing inside a string,
 *   `null` outside one, so a JSON template stays JSON);
 * - reserved variables: `aws.events.rule-arn`, `aws.events.rule-name`, `aws.events.event.ingestion-time`,
 *   `aws.events.event` (the event without `detail`) and `aws.events.event.json` (the whole event);
 * - an output that is valid JSON reaches the target minified; any other text (e.g. several quoted lines,
 *   the usual way to write a multi-line e-mail) reaches it as written.
 * Pure.
 */

export interface InputTransformer {
  InputPathsMap?: Record<string, string>;
  InputTemplate: string;
}

/** The rule the event matched (for the reserved variables). */
export interface TransformContext {
  ruleArn: string;
  ruleName: string;
  /** When EventBridge received the event (ISO 8601); the event's `time` when not given. */
  ingestionTime?: string;
}

/** Thrown for an InputPathsMap AWS would refuse (PutTargets / CloudFormation validation). */
export class InputTransformerError extends Error {
  override name = 'InputTransformerError';
}

const RESERVED_PREFIX = 'aws.events.';
/** EventBridge's limit on InputPathsMap entries. */
const MAX_VARIABLES = 100;

/**
 * The value at a JSON path in dot notation (`$.detail.instance-id`, `$.resources[0]`, `$`), or
 * undefined when nothing is there. Throws InputTransformerError for a path not starting with `$`.
 */
export function valueAtPath(document: unknown, path: string): unknown {
  if (path !== '$' && !path.startsWith('$.') && !path.startsWith('$[')) throw new InputTransformerError(`InputPathsMap: "${path}" is not a JSON path (it must start with $)`);
  const steps: (string | number)[] = [];
  for (const part of path.slice(1).split('.').slice(path.startsWith('$.') ? 1 : 0)) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!match) throw new InputTransformerError(`InputPathsMap: "${path}" uses JSON path syntax EventBridge does not support (dot notation and [index] only)`);
    if (match[1] !== '') steps.push(match[1]!);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) steps.push(Number(index[1]));
  }
  let current: unknown = document;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (Array.isArray(current) || !Object.hasOwn(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}

/** The variables a transformer defines for an event: its paths that matched, then the reserved ones. */
function variablesFor(transformer: InputTransformer, event: Record<string, unknown>, context: TransformContext): Map<string, unknown> {
  const paths = Object.entries(transformer.InputPathsMap ?? {});
  if (paths.length > MAX_VARIABLES) throw new InputTransformerError(`InputPathsMap: at most ${MAX_VARIABLES} variables, got ${paths.length}`);
  const variables = new Map<string, unknown>();
  for (const [name, path] of paths) {
    if (name.startsWith(RESERVED_PREFIX)) throw new InputTransformerError(`InputPathsMap: "${name}" is reserved (names may not start with ${RESERVED_PREFIX})`);
    const value = valueAtPath(event, path);
    if (value !== undefined) variables.set(name, value);
  }
  const { detail: _detail, ...withoutDetail } = event;
  variables.set('aws.events.rule-arn', context.ruleArn);
  variables.set('aws.events.rule-name', context.ruleName);
  variables.set('aws.events.event.ingestion-time', context.ingestionTime ?? event.time);
  variables.set('aws.events.event', withoutDetail);
  variables.set('aws.events.event.json', event);
  return variables;
}

/**
 * Applies `transformer` to `event` and returns what the target receives (see the module comment for
 * the rules). Throws InputTransformerError for a paths map AWS would refuse.
 */
export function transformInput(transformer: InputTransformer, event: Record<string, unknown>, context: TransformContext): string {
  const variables = variablesFor(transformer, event, context);
  const declared = new Set([...Object.keys(transformer.InputPathsMap ?? {}), ...variables.keys()]);
  const template = transformer.InputTemplate;
  let output = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const char = template[i]!;
    if (char === '\\' && inString) {
      output += template.slice(i, i + 2);
      i++;
      continue;
    }
    if (char === '"') {
      inString = !inString;
      output += char;
      continue;
    }
    if (char === '<') {
      const end = template.indexOf('>', i + 1);
      const name = end === -1 ? undefined : template.slice(i + 1, end);
      if (name !== undefined && declared.has(name)) {
        const value = variables.get(name);
        output += inString ? (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value)) : value === undefined ? 'null' : JSON.stringify(value);
        i = end;
        continue;
      }
    }
    output += char;
  }
  try {
    return JSON.stringify(JSON.parse(output));
  } catch {
    return output;
  }
}
