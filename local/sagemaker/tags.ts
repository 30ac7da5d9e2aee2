import { JsonStore } from '../store/json-store';
import { hashKey, mergeTags, type Tag } from './common';

/** Tags of every SageMaker resource, by ARN (AddTags / ListTags and the events' Tags). Durable. */
export class TagStore {
  private readonly store: JsonStore<{ arn: string; tags: Tag[] }>;

  constructor(directory: string) {
    this.store = new JsonStore(directory);
  }

  /** The resource's tags; [] when it has none. */
  get(arn: string): Tag[] {
    return this.store.get(hashKey(arn))?.tags ?? [];
  }

  /** Replaces the resource's tags. */
  put(arn: string, tags: Tag[]): void {
    this.store.put(hashKey(arn), { arn, tags });
  }

  /** Adds or overwrites tags by key; returns the resulting list. */
  add(arn: string, tags: Tag[]): Tag[] {
    const merged = mergeTags(this.get(arn), tags);
    this.put(arn, merged);
    return merged;
  }

  /** Forgets a deleted resource's tags. */
  delete(arn: string): void {
    this.store.delete(hashKey(arn));
  }
}
