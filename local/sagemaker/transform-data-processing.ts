import { JoinSource, SplitType } from '@aws-sdk/client-sagemaker';

import { splitRecords, TransformDataError } from './transform-batches';

/**
 * Batch transform's DataProcessing, as SageMaker documents it ("Associate Prediction Results with
 * Input Records", batch-transform-data-processing.html; API_DataProcessing.html), without I/O:
 * InputFilter selects what of each input record the model gets, JoinSource Input joins each record
 * with the model's answer for it, OutputFilter selects what of that is written.
 *
 * Records are CSV rows (ContentType text/csv: a row is a JSON array of its fields) or JSON lines
 * (application/json, application/jsonlines). Joining: a CSV row is followed by the answer's fields;
 * a JSON object gets the answer as `SageMakerOutput`, anything else becomes
 * `{"SageMakerInput": <record>, "SageMakerOutput": <answer>}`.
 *
 * Filters are the JSONPath subset the documentation lists: `$`, `.<name>`, `.*`, `['<name>'(,'<name>')*]`,
 * `[<index>(,<index>)*]` with negative indexes and `<start>:<end>` slices among them, `[*]`. A selection of
 * several elements keeps its shape (`$[0,-1]` of a row is a row of two fields, `$['id','SageMakerOutput']`
 * of an object is an object of two keys); only a filter's last step may select several. Written here
 * because jsonpath-plus (the JSONPath library in node_modules) answers `$[0,-1]` with the first element
 * only and cannot read `$['id','SageMakerOutput']`, two of the documentation's own examples.
 */

export interface DataProcessingSettings {
  InputFilter?: string;
  OutputFilter?: string;
  JoinSource?: string;
}

/** The record formats DataProcessing reads ("You can use input files in JSON and CSV format only"). */
export const DATA_PROCESSING_CONTENT_TYPES = ['text/csv', 'application/json', 'application/jsonlines'] as const;

/** The longest filter the API accepts. */
const MAX_FILTER_LENGTH = 63;

type Selector = { kind: 'name'; name: string } | { kind: 'index'; index: number } | { kind: 'slice'; start?: number; end?: number } | { kind: 'all' };
type Step = Selector[];

/** A filter that cannot be parsed: the message says where. */
export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

/** The steps of a filter; throws JsonPathError naming what is not in the supported subset. */
export function parseFilter(filter: string): Step[] {
  if (filter.length > MAX_FILTER_LENGTH) throw new JsonPathError(`is ${filter.length} characters, more than ${MAX_FILTER_LENGTH}`);
  if (!filter.startsWith('$')) throw new JsonPathError('must start with $');
  const steps: Step[] = [];
  let rest = filter.slice(1);
  while (rest !== '') {
    const dotted = /^\.(\*|[A-Za-z_][A-Za-z0-9_-]*)/.exec(rest);
    if (dotted) {
      steps.push([dotted[1] === '*' ? { kind: 'all' } : { kind: 'name', name: dotted[1]! }]);
      rest = rest.slice(dotted[0].length);
      continue;
    }
    const bracket = /^\[([^\]]*)\]/.exec(rest);
    if (!bracket) throw new JsonPathError(`cannot read "${rest}" (supported: .<name>, .*, ['<name>',…], [<index>,…], [<start>:<end>], [*])`);
    steps.push(bracketSelectors(bracket[1]!.trim()));
    rest = rest.slice(bracket[0].length);
  }
  if (steps.slice(0, -1).some(selectsSeveral)) throw new JsonPathError('only its last step may select several elements');
  return steps;
}

function bracketSelectors(inside: string): Selector[] {
  if (inside === '*') return [{ kind: 'all' }];
  const parts = inside.split(',').map((part) => part.trim());
  return parts.map((part): Selector => {
    const quoted = /^'([^']*)'$/.exec(part) ?? /^"([^"]*)"$/.exec(part);
    if (quoted) return { kind: 'name', name: quoted[1]! };
    if (/^-?\d+$/.test(part)) return { kind: 'index', index: Number(part) };
    const slice = /^(-?\d+)?:(-?\d+)?$/.exec(part);
    if (slice) return { kind: 'slice', ...(slice[1] === undefined ? {} : { start: Number(slice[1]) }), ...(slice[2] === undefined ? {} : { end: Number(slice[2]) }) };
    throw new JsonPathError(`cannot read "[${inside}]": "${part}" is not a quoted name, an index or a slice`);
  });
}

function selectsSeveral(step: Step): boolean {
  return step.length > 1 || step.some((selector) => selector.kind === 'slice' || selector.kind === 'all');
}

/** What `filter` selects of `value` (a parsed record); throws TransformDataError when it names what is not there. */
export function applyFilter(filter: string, steps: Step[], value: unknown): unknown {
  let current = value;
  for (const step of steps) {
    if (!selectsSeveral(step)) {
      current = one(filter, step[0]!, current);
      continue;
    }
    if (Array.isArray(current)) current = step.flatMap((selector) => elements(filter, selector, current as unknown[]));
    else if (isObject(current)) current = Object.fromEntries(step.flatMap((selector) => entries(filter, selector, current as Record<string, unknown>)));
    else throw new TransformDataError(`${filter} selects elements of ${describe(current)}`);
  }
  return current;
}

function one(filter: string, selector: Selector, value: unknown): unknown {
  if (selector.kind === 'name') {
    if (!isObject(value) || !Object.hasOwn(value, selector.name)) throw new TransformDataError(`${filter}: ${describe(value)} has no "${selector.name}"`);
    return value[selector.name];
  }
  if (selector.kind !== 'index') throw new TransformDataError(`${filter}: cannot select one element with ${selector.kind}`);
  if (!Array.isArray(value)) throw new TransformDataError(`${filter}: ${describe(value)} has no index ${selector.index}`);
  const position = selector.index < 0 ? value.length + selector.index : selector.index;
  if (position < 0 || position >= value.length) throw new TransformDataError(`${filter}: index ${selector.index} is outside a record of ${value.length} elements`);
  return value[position];
}

function elements(filter: string, selector: Selector, array: unknown[]): unknown[] {
  switch (selector.kind) {
    case 'all':
      return array;
    case 'index':
      return [one(filter, selector, array)];
    case 'slice':
      return array.slice(selector.start, selector.end);
    case 'name':
      throw new TransformDataError(`${filter}: an array of ${array.length} elements has no "${selector.name}"`);
  }
}

function entries(filter: string, selector: Selector, object: Record<string, unknown>): [string, unknown][] {
  if (selector.kind === 'all') return Object.entries(object);
  if (selector.kind !== 'name') throw new TransformDataError(`${filter}: an object has no index ${selector.kind === 'index' ? selector.index : 'slice'}`);
  return [[selector.name, one(filter, selector, object)]];
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const describe = (value: unknown): string => (Array.isArray(value) ? `an array of ${value.length} elements` : isObject(value) ? 'an object' : `the value ${JSON.stringify(value)}`);

/** True when the settings change anything (every filter `$`, no join: the data passes as it is). */
export function processesData(settings: DataProcessingSettings | undefined): boolean {
  return settings !== undefined && ((settings.InputFilter ?? '$') !== '$' || (settings.OutputFilter ?? '$') !== '$' || settings.JoinSource === JoinSource.INPUT);
}

/** The record format of a content type, or undefined when DataProcessing cannot read it. */
export function recordFormat(contentType: string | undefined): 'csv' | 'json' | undefined {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (base === 'text/csv') return 'csv';
  return base === 'application/json' || base === 'application/jsonlines' ? 'json' : undefined;
}

/** One record (a line) as DataProcessing sees it: a CSV row as an array of fields, a JSON line parsed. */
function parseRecord(line: Buffer, format: 'csv' | 'json'): unknown {
  const text = line.toString('utf8').replace(/\r$/, '');
  if (format === 'csv') return csvFields(text);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TransformDataError(`a record is not JSON: ${text.slice(0, 80)}`);
  }
}

/** A record back as a line: an array as a CSV row, anything else as one CSV field; JSON as compact JSON. */
function formatRecord(value: unknown, format: 'csv' | 'json'): Buffer {
  if (format === 'json') return Buffer.from(JSON.stringify(value));
  const fields = Array.isArray(value) ? value : [value];
  return Buffer.from(fields.map(csvField).join(','));
}

/** One job's DataProcessing over its records, the filters parsed once. */
export interface DataProcessor {
  /** The record the model gets: InputFilter applied to the parsed record. */
  input(record: Buffer): Buffer;
  /** True when the output is written record by record (a join or an OutputFilter), so each answer must pair with its record. */
  readonly pairsAnswers: boolean;
  /**
   * The line written for one record: the model's answer for it, joined with the original record when
   * JoinSource is Input, then OutputFilter. The answer is read in the input's format (a CSV answer's
   * fields follow the row's; a JSON answer that does not parse is kept as a string).
   */
  output(record: Buffer, answer: Buffer): Buffer;
}

/**
 * The processor of a job's DataProcessing, or undefined when it changes nothing or the content type
 * is not one it reads. Throws JsonPathError for a filter outside the supported subset; its methods
 * throw TransformDataError for a record the filters cannot apply to.
 */
export function dataProcessor(settings: DataProcessingSettings | undefined, contentType: string | undefined): DataProcessor | undefined {
  const format = recordFormat(contentType);
  if (!settings || !processesData(settings) || format === undefined) return undefined;
  const compiled = (field: 'InputFilter' | 'OutputFilter') => {
    const filter = settings[field] ?? '$';
    if (filter === '$') return undefined;
    const steps = parseFilter(filter);
    return (value: unknown) => applyFilter(`${field} ${filter}`, steps, value);
  };
  const inputFilter = compiled('InputFilter');
  const outputFilter = compiled('OutputFilter');
  const joins = settings.JoinSource === JoinSource.INPUT;
  return {
    input: (record) => (inputFilter ? formatRecord(inputFilter(parseRecord(record, format)), format) : record),
    pairsAnswers: joins || outputFilter !== undefined,
    output: (record, answer) => {
      let result = parseAnswer(answer, format);
      if (joins) {
        const input = parseRecord(record, format);
        if (format === 'csv') result = [...(input as unknown[]), ...(result as unknown[])];
        else result = isObject(input) ? { ...input, SageMakerOutput: result } : { SageMakerInput: input, SageMakerOutput: result };
      }
      return formatRecord(outputFilter ? outputFilter(result) : result, format);
    },
  };
}

/** A model's answer for one record, in the input's format: CSV fields, or JSON (kept as a string when it does not parse). */
function parseAnswer(answer: Buffer, format: 'csv' | 'json'): unknown {
  const text = answer.toString('utf8').replace(/\r?\n$/, '');
  if (format === 'csv') return csvFields(text);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A CSV line's fields (RFC 4180 quoting within the line; a record never spans lines here, as SplitType Line splits them). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index]!;
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}

function csvField(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The model's answer for each record, from the answers to the requests that carried them, given how
 * many records each carried (transform-batches.ts batchGroups): a request of one record is answered by the whole
 * response; a MultiRecord request carries its records one per line, and the model answers one line each.
 * Throws TransformDataError when an answer has not one line per record: a join needs them paired.
 */
export function answersPerRecord(recordsPerRequest: readonly number[], responses: readonly Buffer[]): Buffer[] {
  return recordsPerRequest.flatMap((records, index) => {
    const response = responses[index]!;
    if (records === 1) return [response];
    const answers = splitRecords(response, SplitType.LINE);
    if (answers.length !== records) throw new TransformDataError(`request ${index + 1} carried ${records} record(s) and the model answered ${answers.length} line(s): JoinSource and OutputFilter need one line per record`);
    return answers;
  });
}
