import { gunzipSync } from 'node:zlib';

import { AssemblyType, BatchStrategy, CompressionType, SplitType } from '@aws-sdk/client-sagemaker';

/**
 * Batch transform's data handling, as SageMaker defines it and without I/O: how an input object is
 * decompressed (CompressionType), split into records (SplitType), how records become request payloads (BatchStrategy within
 * MaxPayloadInMB), how the responses are assembled into `<input>.out` (AssembleWith), and where
 * that object goes.
 */

/** SageMaker's default MaxPayloadInMB. */
export const DEFAULT_MAX_PAYLOAD_MB = 6;
/** SageMaker's default InvocationsMaxRetries. */
export const DEFAULT_MAX_RETRIES = 3;

/** An input that cannot be transformed under the job's settings; the message is the tail of the job's FailureReason. */
export class TransformDataError extends Error {
  override readonly name = 'TransformDataError';
}

/**
 * An input object as the model reads it: Gzip objects are decompressed before they are split
 * (SageMaker "automatically decompresses the data for the transform job"); the `.out` is not compressed.
 */
export function decompress(body: Buffer, compressionType: string | undefined): Buffer {
  if ((compressionType ?? CompressionType.NONE) === CompressionType.NONE) return body;
  if (compressionType !== CompressionType.GZIP) throw new TransformDataError(`CompressionType ${compressionType} is not one of None, Gzip`);
  try {
    return gunzipSync(body);
  } catch (error) {
    throw new TransformDataError(`CompressionType is Gzip but the object is not gzip data (${(error as Error).message})`);
  }
}

/**
 * The records of one input object. SplitType None: the whole object is one record. Line: one
 * record per line, without its `\n` (a final empty line, i.e. a trailing newline, is no record).
 */
export function splitRecords(body: Buffer, splitType: string | undefined): Buffer[] {
  if ((splitType ?? SplitType.NONE) === SplitType.NONE) return [body];
  if (splitType !== SplitType.LINE) throw new TransformDataError(`SplitType ${splitType} is not supported by the local runtime (None and Line are)`);
  const records: Buffer[] = [];
  let start = 0;
  for (let index = body.indexOf(0x0a); index !== -1; index = body.indexOf(0x0a, start)) {
    records.push(body.subarray(start, index));
    start = index + 1;
  }
  if (start < body.length) records.push(body.subarray(start));
  return records;
}

/**
 * The records of each request for an object's records. SingleRecord: one record per request.
 * MultiRecord: as many consecutive records as fit in `maxPayloadMb` (counting the `\n` that will
 * join them). MaxPayloadInMB 0 means no limit. Throws TransformDataError when one record alone
 * exceeds the limit, naming the record and the limit.
 */
export function batchGroups(records: Buffer[], strategy: string | undefined, maxPayloadMb: number | undefined, splitType: string | undefined): Buffer[][] {
  const limitMb = maxPayloadMb ?? DEFAULT_MAX_PAYLOAD_MB;
  const limit = limitMb === 0 ? Number.POSITIVE_INFINITY : limitMb * 1024 * 1024;
  for (const [index, record] of records.entries()) {
    if (record.length > limit) {
      const what = (splitType ?? SplitType.NONE) === SplitType.NONE ? 'the object' : `record ${index + 1}`;
      throw new TransformDataError(`${what} is ${record.length} bytes, more than MaxPayloadInMB (${limitMb} MB)${(splitType ?? SplitType.NONE) === SplitType.NONE ? '; set SplitType to split it into records' : ''}`);
    }
  }
  if ((strategy ?? BatchStrategy.MULTI_RECORD) === BatchStrategy.SINGLE_RECORD || records.length <= 1) return records.map((record) => [record]);
  const groups: Buffer[][] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const record of records) {
    const added = (current.length > 0 ? 1 : 0) + record.length;
    if (current.length > 0 && size + added > limit) {
      groups.push(current);
      current = [];
      size = 0;
    }
    size += (current.length > 0 ? 1 : 0) + record.length;
    current.push(record);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** The request payloads for an object's records: each group of {@link batchGroups} joined by `\n`, as the lines were. */
export function batchRecords(records: Buffer[], strategy: string | undefined, maxPayloadMb: number | undefined, splitType: string | undefined): Buffer[] {
  return batchGroups(records, strategy, maxPayloadMb, splitType).map(joinLines);
}

/**
 * The `.out` object from the responses, in input order. AssembleWith None: the responses
 * concatenated as they are. Line: each response followed by `\n` unless it already ends with one.
 */
export function assembleOutput(responses: Buffer[], assembleWith: string | undefined): Buffer {
  if ((assembleWith ?? AssemblyType.NONE) !== AssemblyType.LINE) return Buffer.concat(responses);
  const newline = Buffer.from('\n');
  return Buffer.concat(responses.flatMap((response) => (response.length > 0 && response[response.length - 1] === 0x0a ? [response] : [response, newline])));
}

/**
 * Where an input object's result goes: `<S3OutputPath>/<key relative to the input prefix>.out`
 * (an input S3Uri naming one object puts `<its file name>.out` directly under the output path).
 */
export function outputUri(s3OutputPath: string, relativeKey: string): string {
  return `${s3OutputPath.replace(/\/+$/, '')}/${relativeKey}.out`;
}

/**
 * The variables SageMaker sets for a container serving a batch transform (the inference
 * toolkits read them), e.g. SAGEMAKER_BATCH=true, SAGEMAKER_BATCH_STRATEGY=MULTI_RECORD.
 */
export function batchEnvironment(job: { MaxPayloadInMB?: number; BatchStrategy?: string; MaxConcurrentTransforms?: number }): Record<string, string> {
  return {
    SAGEMAKER_BATCH: 'true',
    SAGEMAKER_MAX_PAYLOAD_IN_MB: String(job.MaxPayloadInMB ?? DEFAULT_MAX_PAYLOAD_MB),
    SAGEMAKER_BATCH_STRATEGY: (job.BatchStrategy ?? BatchStrategy.MULTI_RECORD) === BatchStrategy.SINGLE_RECORD ? 'SINGLE_RECORD' : 'MULTI_RECORD',
    SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: String(job.MaxConcurrentTransforms ?? 1),
  };
}

/**
 * Runs `work` over `items` with at most `concurrency` in flight and returns the results in input
 * order; the first failure rejects (items not yet started are not started).
 */
export async function mapInOrder<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, () => worker()));
  return results;
}

/** Records joined by `\n` into one request payload, as the lines were. */
export function joinLines(records: Buffer[]): Buffer {
  const newline = Buffer.from('\n');
  return Buffer.concat(records.flatMap((record, index) => (index === 0 ? [record] : [newline, record])));
}
