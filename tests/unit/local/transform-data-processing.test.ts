/**
 * Batch transform's DataProcessing (local/sagemaker/transform-data-processing.ts): the filters and
 * joins of AWS's "Associate Prediction Results with Input Records" page and the DataProcessing API
 * reference, whose examples these are (`$[1:]`, `$[0,-1]`, `$[0,5:]`, `$.features`,
 * `$['id','SageMakerOutput']`). Pure functions, no I/O.
 */
import { TransformDataError } from '../../../local/sagemaker/transform-batches';
import {
  answersPerRecord,
  applyFilter,
  dataProcessor,
  JsonPathError,
  parseFilter,
  processesData,
  recordFormat,
} from '../../../local/sagemaker/transform-data-processing';

const line = (text: string) => Buffer.from(text);
const select = (filter: string, value: unknown) => applyFilter(filter, parseFilter(filter), value);
const CONTENT_TYPES = { csv: 'text/csv', json: 'application/jsonlines' } as const;
/** The job's processor for `settings` over records of `format`. */
const processor = (settings: Record<string, string>, format: keyof typeof CONTENT_TYPES) => dataProcessor(settings, CONTENT_TYPES[format])!;
const filterInput = (record: Buffer, settings: Record<string, string>, format: keyof typeof CONTENT_TYPES) => processor(settings, format).input(record);
const outputRecord = (record: Buffer, answer: Buffer, settings: Record<string, string>, format: keyof typeof CONTENT_TYPES) => processor(settings, format).output(record, answer);

describe('the JSONPath subset', () => {
  const row = ['id-7', 'M', '0.455', '0.365', '0.095', '0.514', '0.2245'];

  it.each([
    ['$', row],
    ['$[1:]', row.slice(1)],
    ['$[0,-1]', ['id-7', '0.2245']],
    ['$[0,5:]', ['id-7', '0.514', '0.2245']],
    ['$[:2]', ['id-7', 'M']],
    ['$[*]', row],
    ['$[2]', '0.455'],
  ])('selects %s of a CSV row', (filter, expected) => {
    expect(select(filter, row)).toEqual(expected);
  });

  it('selects a key, several keys as an object, and a slice under a key of a JSON record', () => {
    const record = { id: 1, features: [0.455, 0.365, 0.095], SageMakerOutput: 9.8 };

    expect(select('$.features', record)).toEqual([0.455, 0.365, 0.095]);
    expect(select("$['id','SageMakerOutput']", record)).toEqual({ id: 1, SageMakerOutput: 9.8 });
    expect(select('$.features[1:]', record)).toEqual([0.365, 0.095]);
    expect(select('$.*', { a: 1 })).toEqual({ a: 1 });
  });

  it('refuses what it cannot read, saying what it supports', () => {
    expect(() => parseFilter('features')).toThrow(new JsonPathError('must start with $'));
    expect(() => parseFilter('$..id')).toThrow(/cannot read "\.\.id" \(supported: \.<name>, \.\*, \['<name>',…\], \[<index>,…\], \[<start>:<end>\], \[\*\]\)/);
    expect(() => parseFilter('$[?(@.id)]')).toThrow(/"\?\(@\.id\)" is not a quoted name, an index or a slice/);
    expect(() => parseFilter('$[*].id')).toThrow(new JsonPathError('only its last step may select several elements'));
    expect(() => parseFilter(`$.${'a'.repeat(63)}`)).toThrow(new JsonPathError('is 65 characters, more than 63'));
  });

  it('fails a record that has not what the filter names (an index outside the row, a missing key)', () => {
    expect(() => select('$[9]', row)).toThrow(new TransformDataError('$[9]: index 9 is outside a record of 7 elements'));
    expect(() => select('$.features', { id: 1 })).toThrow(new TransformDataError('$.features: an object has no "features"'));
  });
});

describe('filters and joins on records', () => {
  const csv = { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' };
  const json = { InputFilter: '$.features', JoinSource: 'Input', OutputFilter: "$['id','SageMakerOutput']" };

  it('sends the model a CSV row without its ID column, and writes the ID beside the prediction', () => {
    const record = line('id-7,0.455,0.365,0.095');

    expect(filterInput(record, csv, 'csv').toString()).toBe('0.455,0.365,0.095');
    expect(outputRecord(record, line('9.8\n'), csv, 'csv').toString()).toBe('id-7,9.8');
    // Joined without an output filter: the input row followed by the answer's fields.
    expect(outputRecord(record, line('9.8,0.1'), { JoinSource: 'Input' }, 'csv').toString()).toBe('id-7,0.455,0.365,0.095,9.8,0.1');
  });

  it('keeps CSV quoting: a field holding a comma or a quote stays one field', () => {
    const record = line('"Smith, J.","say ""hi""",1');

    expect(filterInput(record, { InputFilter: '$[2]' }, 'csv').toString()).toBe('1');
    expect(outputRecord(record, line('5'), { JoinSource: 'Input' }, 'csv').toString()).toBe('"Smith, J.","say ""hi""",1,5');
  });

  it('sends the model a JSON record\'s features, and writes its id with SageMakerOutput', () => {
    const record = line('{"id":1,"features":[0.455,0.365]}');

    expect(filterInput(record, json, 'json').toString()).toBe('[0.455,0.365]');
    expect(outputRecord(record, line('{"score":9.8}'), json, 'json').toString()).toBe('{"id":1,"SageMakerOutput":{"score":9.8}}');
  });

  it('wraps a JSON record that is not an object as SageMakerInput, and keeps an answer that is not JSON as a string', () => {
    expect(outputRecord(line('[1,2]'), line('9.8'), { JoinSource: 'Input' }, 'json').toString()).toBe('{"SageMakerInput":[1,2],"SageMakerOutput":9.8}');
    expect(outputRecord(line('{"id":1}'), line('high'), { JoinSource: 'Input' }, 'json').toString()).toBe('{"id":1,"SageMakerOutput":"high"}');
  });

  it('pairs MultiRecord answers with their records, one line each, a single record with the whole answer, and fails when the counts differ', () => {
    const recordsPerRequest = [3, 1];

    expect(answersPerRecord(recordsPerRequest, [line('1\n2\n3\n'), line('4')]).map(String)).toEqual(['1', '2', '3', '4']);
    expect(answersPerRecord([1], [line('')]).map(String)).toEqual(['']);
    expect(() => answersPerRecord(recordsPerRequest, [line('1\n2\n'), line('4')])).toThrow(
      new TransformDataError('request 1 carried 3 record(s) and the model answered 2 line(s): JoinSource and OutputFilter need one line per record'),
    );
  });

  it('has no processor when the data passes as it is or the content type is not CSV or JSON', () => {
    expect(dataProcessor({ InputFilter: '$', OutputFilter: '$', JoinSource: 'None' }, 'text/csv')).toBeUndefined();
    expect(dataProcessor({ JoinSource: 'Input' }, 'application/x-recordio-protobuf')).toBeUndefined();
    expect(dataProcessor({ InputFilter: '$[1:]' }, 'text/csv')?.pairsAnswers).toBe(false);
    expect(dataProcessor({ OutputFilter: '$[0]' }, 'text/csv')?.pairsAnswers).toBe(true);
    expect(() => dataProcessor({ InputFilter: '$..id' }, 'text/csv')).toThrow(JsonPathError);
  });

  it('knows when the data passes as it is, and which content types it reads', () => {
    expect(processesData(undefined)).toBe(false);
    expect(processesData({ InputFilter: '$', OutputFilter: '$', JoinSource: 'None' })).toBe(false);
    expect(processesData({ JoinSource: 'Input' })).toBe(true);
    expect(processesData({ InputFilter: '$[1:]' })).toBe(true);
    expect([recordFormat('text/csv'), recordFormat('application/jsonlines'), recordFormat('application/json; charset=utf-8'), recordFormat('application/x-recordio-protobuf')]).toEqual(['csv', 'json', 'json', undefined]);
  });
});
