/**
 * Minimal types for the two emulators that ship none. Only what the runtime uses is declared.
 */
declare module 's3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  import type { ListingStore } from './s3/list-objects';
  interface S3rverOptions {
    directory: string;
    silent?: boolean;
    allowMismatchedSignatures?: boolean;
    configureBuckets?: { name: string }[];
  }
  /** s3rver is a Koa application: `callback()` is its request handler. */
  export default class S3rver {
    constructor(options: S3rverOptions);
    callback(): (request: IncomingMessage, response: ServerResponse) => Promise<void>;
    configureBuckets(): Promise<void>;
    /** The filesystem store its controllers read (local/s3/list-objects.ts patches its listing). */
    store: ListingStore;
  }
}

declare module 'dynalite' {
  import type { Server } from 'node:http';
  interface DynaliteOptions {
    /** LevelDB directory; in-memory when omitted. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }
  /** An http.Server (not listening) whose 'request' listener serves the DynamoDB API. */
  export default function dynalite(options?: DynaliteOptions): Server;
}
