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
    /** Koa's emitter: s3rver emits an S3 notification (`Records`) after each object created or deleted. */
    on(event: 'event', listener: (notification: S3rverNotification) => void): this;
  }
  /** One S3 event notification as s3rver builds it (lib/models/event.js). */
  export interface S3rverNotification {
    Records: {
      eventName: string;
      eventTime: string;
      requestParameters: { sourceIPAddress?: string };
      responseElements: { 'x-amz-request-id': string };
      s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer: string } };
    }[];
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
