import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Durable JSON documents under the runtime's data directory: one file per document, written
 * atomically (temp file + fsync'd rename), so a crash or SIGKILL never leaves half a document.
 * Synchronous on purpose: writes are small and ordering matters more than throughput here.
 */
export class JsonStore<T> {
  constructor(private readonly directory: string) {
    mkdirSync(directory, { recursive: true });
  }

  private path(key: string): string {
    if (!/^[A-Za-z0-9._:@=+-]{1,200}$/.test(key) || key.startsWith('.')) throw new Error(`invalid store key: ${key}`);
    return join(this.directory, `${key}.json`);
  }

  /** The document, or undefined. */
  get(key: string): T | undefined {
    try {
      return JSON.parse(readFileSync(this.path(key), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Writes the document atomically (replace). */
  put(key: string, value: T): void {
    const target = this.path(key);
    mkdirSync(dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(temp, JSON.stringify(value), { flush: true });
    renameSync(temp, target);
  }

  /** Removes the document; missing is fine. */
  delete(key: string): void {
    rmSync(this.path(key), { force: true });
  }

  /** Every document, in key order. */
  list(): { key: string; value: T }[] {
    return readdirSync(this.directory)
      .filter((file) => file.endsWith('.json'))
      .sort()
      .map((file) => ({ key: file.slice(0, -5), value: JSON.parse(readFileSync(join(this.directory, file), 'utf8')) as T }));
  }
}
