/**
 * ListObjects(V2) with a `Delimiter`, done right over s3rver's store.
 *
 * s3rver 3.7.1's filesystem store prunes every directory that lies below a common prefix before it
 * has seen a key there, so a prefix whose keys all sit two or more levels deeper never appears:
 * with `datasets/v1/train.csv` as the only key under `datasets/`, `aws s3 ls s3://bucket/` (and any
 * `Delimiter=/` listing) omits `PRE datasets/`. The query (`prefix=` empty, `encoding-type=url`) is
 * not the cause: s3rver ignores `encoding-type` and sends no `EncodingType`, so clients do not
 * decode keys. Here the store lists every key under the prefix without the delimiter, and the
 * grouping below is applied to that listing instead.
 */

/** An entry of s3rver's store listing (an S3Object); only the key is read here. */
interface ListedObject {
  key: string;
}

export interface StoreListing<T extends ListedObject> {
  objects: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
}

/** The options s3rver's ListObjects controller passes to its store. */
export interface StoreListOptions {
  delimiter?: string;
  prefix?: string;
  startAfter?: string;
  maxKeys?: number;
}

/** The part of s3rver's FilesystemStore this module replaces. */
export interface ListingStore {
  listObjects(bucket: string, options: StoreListOptions): Promise<StoreListing<ListedObject>>;
}

/**
 * Groups a listing (every key under `prefix`, any order) by `delimiter`, as s3rver's store means to:
 * keys in key order; a key with the delimiter after the prefix rolls up into the common prefix up to
 * and including it; up to `maxKeys` keys are kept (common prefixes do not count, as in s3rver, whose
 * continuation token is the last key kept). Pure.
 */
export function groupByDelimiter<T extends ListedObject>(objects: readonly T[], options: { delimiter: string; prefix?: string; maxKeys?: number }): StoreListing<T> {
  const prefix = options.prefix ?? '';
  const maxKeys = options.maxKeys ?? Infinity;
  const commonPrefixes = new Set<string>();
  const kept: T[] = [];
  let isTruncated = false;
  for (const object of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const at = object.key.indexOf(options.delimiter, prefix.length);
    if (at !== -1) {
      commonPrefixes.add(object.key.slice(0, at + options.delimiter.length));
    } else if (kept.length < maxKeys) {
      kept.push(object);
    } else {
      isTruncated = true;
      break;
    }
  }
  return { objects: kept, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
}

/** Makes `store` (s3rver's, in place) answer delimited listings with groupByDelimiter. */
export function fixDelimitedListing(store: ListingStore): void {
  const listAll = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    if (!options.delimiter) return listAll(bucket, options);
    const all = await listAll(bucket, { ...options, delimiter: undefined, maxKeys: Infinity });
    return groupByDelimiter(all.objects, { delimiter: options.delimiter, prefix: options.prefix, maxKeys: options.maxKeys });
  };
}
