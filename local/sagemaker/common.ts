import { createHash } from 'node:crypto';

import type { ServiceContext } from '../context';
import { AwsServiceError } from '../http/aws-json';

/** Helpers every SageMaker resource shares: names, ARNs, validation, listing, tags, events. */

/** SageMaker's name rule for jobs, models, endpoints and model package groups. */
export const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** A ValidationException worded as SageMaker words constraint violations. */
export function validationError(message: string): AwsServiceError {
  return new AwsServiceError('ValidationException', message);
}

/** Throws ValidationException unless `value` is a valid SageMaker resource name; returns it. */
export function requireName(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') throw validationError(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
  if (!NAME_PATTERN.test(value)) {
    throw validationError(`1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`);
  }
  return value;
}

/** Throws ValidationException unless `value` is absent or a plain object; returns it. */
export function optionalObject<T extends object>(input: Record<string, unknown>, field: string): T | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw validationError(`Value at '${field}' must be a structure`);
  return value as T;
}

/** Throws ValidationException unless `value` is absent or an array; returns it. */
export function optionalArray<T>(input: Record<string, unknown>, field: string): T[] | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw validationError(`Value at '${field}' must be a list`);
  return value as T[];
}

/** Throws ValidationException unless `value` is absent or a string; returns it. */
export function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validationError(`Value at '${field}' must be a string`);
  return value;
}

/** Throws ValidationException unless `value` is absent or a map of strings; returns it. */
export function optionalStringMap(input: Record<string, unknown>, field: string): Record<string, string> | undefined {
  const value = optionalObject<Record<string, unknown>>(input, field);
  if (value === undefined) return undefined;
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw validationError(`Value at '${field}.${key}' must be a string`);
  }
  return value as Record<string, string>;
}

/** SageMaker ARNs carry the resource name in lower case (e.g. endpoint "MyEndpoint" → endpoint/myendpoint). */
export function resourceArn(ctx: ServiceContext, type: string, name: string): string {
  return `arn:aws:sagemaker:${ctx.region}:${ctx.accountId}:${type}/${name.toLowerCase()}`;
}

/** Store key for a name: SageMaker names are unique regardless of case, as their ARNs are. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Store key for an arbitrary string (e.g. an ARN) that the store's key rule would reject. */
export function hashKey(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A SageMaker tag. */
export interface Tag {
  Key: string;
  Value: string;
}

/** Validates a Tags list (absent → []). */
export function readTags(input: Record<string, unknown>, field = 'Tags'): Tag[] {
  const tags = optionalArray<unknown>(input, field) ?? [];
  return tags.map((tag, index) => {
    const candidate = tag as Partial<Tag> | null;
    if (!candidate || typeof candidate.Key !== 'string' || candidate.Key === '' || (candidate.Value !== undefined && typeof candidate.Value !== 'string')) {
      throw validationError(`Value at '${field}.${index + 1}' must have a non-empty Key and a string Value`);
    }
    return { Key: candidate.Key, Value: candidate.Value ?? '' };
  });
}

/** Tags as a map (how resolveImage and the events see them). */
export function tagMap(tags: readonly Tag[]): Record<string, string> {
  return Object.fromEntries(tags.map((tag) => [tag.Key, tag.Value]));
}

/** Merges tags: later keys replace earlier ones, as AddTags does. */
export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const merged = new Map(existing.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) merged.set(tag.Key, tag.Value);
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

/** Common List* inputs. */
export interface ListQuery {
  NameContains?: string;
  StatusEquals?: string;
  CreationTimeAfter?: number;
  CreationTimeBefore?: number;
  LastModifiedTimeAfter?: number;
  LastModifiedTimeBefore?: number;
  SortBy?: string;
  SortOrder?: string;
  MaxResults?: number;
  NextToken?: string;
}

/** One item as the listing sees it. */
export interface Listable {
  name: string;
  status?: string;
  creationTime: number;
  lastModifiedTime?: number;
}

/**
 * Filters, sorts (SortBy Name | CreationTime | Status, SortOrder Ascending by default) and pages
 * (MaxResults default 10, NextToken an opaque offset) as SageMaker's List* operations do.
 */
export function listPage<T>(items: T[], view: (item: T) => Listable, query: ListQuery, defaultSortOrder: 'Ascending' | 'Descending' = 'Ascending'): { page: T[]; NextToken?: string } {
  const needle = query.NameContains?.toLowerCase();
  const filtered = items.filter((item) => {
    const v = view(item);
    if (needle !== undefined && !v.name.toLowerCase().includes(needle)) return false;
    if (query.StatusEquals !== undefined && v.status !== query.StatusEquals) return false;
    if (query.CreationTimeAfter !== undefined && !(v.creationTime > query.CreationTimeAfter)) return false;
    if (query.CreationTimeBefore !== undefined && !(v.creationTime < query.CreationTimeBefore)) return false;
    const modified = v.lastModifiedTime ?? v.creationTime;
    if (query.LastModifiedTimeAfter !== undefined && !(modified > query.LastModifiedTimeAfter)) return false;
    if (query.LastModifiedTimeBefore !== undefined && !(modified < query.LastModifiedTimeBefore)) return false;
    return true;
  });
  const sortBy = query.SortBy ?? 'CreationTime';
  const direction = (query.SortOrder ?? defaultSortOrder) === 'Descending' ? -1 : 1;
  const key = (item: T): string | number => {
    const v = view(item);
    if (sortBy === 'Name') return v.name;
    if (sortBy === 'Status') return v.status ?? '';
    return v.creationTime;
  };
  // Ties (same second, same name) keep store order, reversed with the rest when descending.
  const order = new Map(filtered.map((item, index) => [item, index]));
  filtered.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return (ka < kb ? -1 : ka > kb ? 1 : order.get(a)! - order.get(b)!) * direction;
  });
  const max = query.MaxResults ?? 10;
  if (!Number.isInteger(max) || max < 1 || max > 100) throw validationError(`Value '${String(query.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100`);
  const start = query.NextToken === undefined ? 0 : Number.parseInt(query.NextToken, 10);
  if (!Number.isInteger(start) || start < 0) throw validationError('Invalid pagination token');
  const page = filtered.slice(start, start + max);
  return start + max < filtered.length ? { page, NextToken: String(start + max) } : { page };
}

/** Reads the common List* fields from an operation's input. */
export function readListQuery(input: Record<string, unknown>): ListQuery {
  const number = (field: string): number | undefined => {
    const value = input[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number') throw validationError(`Value at '${field}' must be a number`);
    return value;
  };
  return {
    NameContains: optionalString(input, 'NameContains'),
    StatusEquals: optionalString(input, 'StatusEquals'),
    CreationTimeAfter: number('CreationTimeAfter'),
    CreationTimeBefore: number('CreationTimeBefore'),
    LastModifiedTimeAfter: number('LastModifiedTimeAfter'),
    LastModifiedTimeBefore: number('LastModifiedTimeBefore'),
    SortBy: optionalString(input, 'SortBy'),
    SortOrder: optionalString(input, 'SortOrder'),
    MaxResults: number('MaxResults'),
    NextToken: optionalString(input, 'NextToken'),
  };
}

/**
 * A Describe response turned into an event detail: timestamps (epoch seconds on the API) become
 * epoch milliseconds, as in the job and endpoint events AWS documents; tags become a map.
 */
export function eventDetail(describe: object, tags: readonly Tag[]): Record<string, unknown> {
  const convert = (value: unknown, key: string): unknown => {
    if (typeof value === 'number' && /(Time|Timestamp)$/.test(key)) return Math.round(value * 1000);
    if (Array.isArray(value)) return value.map((item) => convert(item, ''));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, k)]));
    return value;
  };
  return { ...(convert(describe, '') as Record<string, unknown>), Tags: tagMap(tags) };
}

/** Publishes an aws.sagemaker event; a delivery failure is logged, never fails the job. */
export async function publishSageMakerEvent(ctx: ServiceContext, detailType: string, resourceArnValue: string, detail: Record<string, unknown>): Promise<void> {
  try {
    await ctx.publishEvent({ Source: 'aws.sagemaker', DetailType: detailType, Detail: detail, Resources: [resourceArnValue] });
  } catch (error) {
    ctx.log('sagemaker: event delivery failed', { detailType, resource: resourceArnValue, error: (error as Error).message });
  }
}
