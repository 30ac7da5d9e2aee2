/**
 * Batch transform's decompression, splitting, batching and assembly (local/sagemaker/transform-batches.ts):
 * pure functions, no I/O.
 */
import { gzipSync } from 'node:zlib';

import { assembleOutput, batchEnvironment, batchRecords, decompress, mapInOrder, outputUri, splitRecords, TransformDataError } from '../../../local/sagemaker/transform-batches';

const text = (buffers: Buffer[]) => buffers.map((buffer) => buffer.toString('utf8'));
const MB = 1024 * 1024;

describe('decompress', () => {
  it('leaves the object as it is with CompressionType None or absent', () => {
    const body = Buffer.from('a,1\n');

    expect(decompress(body, 'None')).toBe(body);
    expect(decompress(body, undefined)).toBe(body);
  });

  it('gunzips a Gzip object before it is split', () => {
    const records = splitRecords(decompress(gzipSync('a,1\nb,2\n'), 'Gzip'), 'Line');

    expect(text(records)).toEqual(['a,1', 'b,2']);
  });

  it('fails an object that is not gzip data under Gzip, saying so', () => {
    expect(() => decompress(Buffer.from('a,1\n'), 'Gzip')).toThrow(/^CompressionType is Gzip but the object is not gzip data \(incorrect header check\)$/);
    expect(() => decompress(Buffer.from('a,1\n'), 'Zip')).toThrow(new TransformDataError('CompressionType Zip is not one of None, Gzip'));
  });
});

describe('splitRecords', () => {
  it('keeps the whole object as one record with SplitType None or absent', () => {
    const body = Buffer.from('a,1\nb,2\n');

    expect(text(splitRecords(body, 'None'))).toEqual(['a,1\nb,2\n']);
    expect(text(splitRecords(body, undefined))).toEqual(['a,1\nb,2\n']);
  });

  it('splits on newlines with SplitType Line; a trailing newline makes no empty record', () => {
    expect(text(splitRecords(Buffer.from('a,1\nb,2\nc,3\n'), 'Line'))).toEqual(['a,1', 'b,2', 'c,3']);
    expect(text(splitRecords(Buffer.from('a,1\nb,2'), 'Line'))).toEqual(['a,1', 'b,2']);
  });

  it('keeps an empty line in the middle as a record (line numbers stay aligned with the output)', () => {
    expect(text(splitRecords(Buffer.from('a\n\nb\n'), 'Line'))).toEqual(['a', '', 'b']);
  });

  it('refuses RecordIO and TFRecord splitting, naming what is supported', () => {
    expect(() => splitRecords(Buffer.from('x'), 'RecordIO')).toThrow(new TransformDataError('SplitType RecordIO is not supported by the local runtime (None and Line are)'));
  });
});

describe('batchRecords', () => {
  const records = ['aaaa', 'bbbb', 'cccc', 'dddd'].map((r) => Buffer.from(r));

  it('sends one record per request with SingleRecord', () => {
    expect(text(batchRecords(records, 'SingleRecord', 6, 'Line'))).toEqual(['aaaa', 'bbbb', 'cccc', 'dddd']);
  });

  it('packs all records into one newline-joined request with MultiRecord when they fit', () => {
    expect(text(batchRecords(records, 'MultiRecord', 6, 'Line'))).toEqual(['aaaa\nbbbb\ncccc\ndddd']);
  });

  it('defaults to MultiRecord, as SageMaker does', () => {
    expect(text(batchRecords(records, undefined, 6, 'Line'))).toEqual(['aaaa\nbbbb\ncccc\ndddd']);
  });

  it('starts a new request when the next record would exceed MaxPayloadInMB', () => {
    const half = Buffer.alloc(MB / 2 - 1, 'x');
    const batches = batchRecords([half, half, half], 'MultiRecord', 1, 'Line');

    expect(batches.map((batch) => batch.length)).toEqual([2 * half.length + 1, half.length]);
    expect(batches.every((batch) => batch.length <= MB)).toBe(true);
  });

  it('fails with the record number when one record alone exceeds MaxPayloadInMB', () => {
    const big = Buffer.alloc(MB + 1, 'x');

    expect(() => batchRecords([Buffer.from('a'), big], 'MultiRecord', 1, 'Line')).toThrow('record 2 is 1048577 bytes, more than MaxPayloadInMB (1 MB)');
  });

  it('fails an unsplit object larger than MaxPayloadInMB, suggesting SplitType', () => {
    expect(() => batchRecords([Buffer.alloc(MB + 1)], undefined, 1, 'None')).toThrow('the object is 1048577 bytes, more than MaxPayloadInMB (1 MB); set SplitType to split it into records');
  });

  it('puts no limit on the payload with MaxPayloadInMB 0', () => {
    const big = Buffer.alloc(7 * MB);

    expect(batchRecords([big, big], 'MultiRecord', 0, 'Line')).toHaveLength(1);
  });
});

describe('assembleOutput', () => {
  const responses = [Buffer.from('1.5'), Buffer.from('2.5\n'), Buffer.from('3.5')];

  it('concatenates the responses as they are with AssembleWith None', () => {
    expect(assembleOutput(responses, 'None').toString()).toBe('1.52.5\n3.5');
    expect(assembleOutput(responses, undefined).toString()).toBe('1.52.5\n3.5');
  });

  it('ends every response with exactly one newline with AssembleWith Line', () => {
    expect(assembleOutput(responses, 'Line').toString()).toBe('1.5\n2.5\n3.5\n');
  });
});

describe('outputUri', () => {
  it('writes <key relative to the input prefix>.out under S3OutputPath', () => {
    expect(outputUri('s3://bucket/out/', 'part-1.csv')).toBe('s3://bucket/out/part-1.csv.out');
    expect(outputUri('s3://bucket/out', 'day=1/part-1.csv')).toBe('s3://bucket/out/day=1/part-1.csv.out');
  });
});

describe('batchEnvironment', () => {
  it("gives the serving container SageMaker's batch settings", () => {
    expect(batchEnvironment({ BatchStrategy: 'SingleRecord', MaxPayloadInMB: 2, MaxConcurrentTransforms: 4 })).toEqual({
      SAGEMAKER_BATCH: 'true',
      SAGEMAKER_MAX_PAYLOAD_IN_MB: '2',
      SAGEMAKER_BATCH_STRATEGY: 'SINGLE_RECORD',
      SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: '4',
    });
    expect(batchEnvironment({})).toMatchObject({ SAGEMAKER_MAX_PAYLOAD_IN_MB: '6', SAGEMAKER_BATCH_STRATEGY: 'MULTI_RECORD', SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: '1' });
  });
});

describe('mapInOrder', () => {
  it('keeps at most `concurrency` in flight and returns results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapInOrder([30, 10, 20, 5, 15], 2, async (delay, index) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delay));
      inFlight -= 1;
      return index;
    });

    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
  });

  it('rejects with the first failure and starts no further item', async () => {
    const started: number[] = [];
    const run = mapInOrder([1, 2, 3, 4], 1, async (item) => {
      started.push(item);
      if (item === 2) throw new Error('item 2 failed');
      return item;
    });

    await expect(run).rejects.toThrow('item 2 failed');
    expect(started).toEqual([1, 2]);
  });
});
