import { resolve } from 'node:path';

/**
 * What every emulated service gets from the runtime. Services never reach into each other: they
 * publish events and call the functions given here, so each can be tested on its own.
 */

/** An event as EventBridge PutEvents takes it (Detail as an object, not a string). */
export interface LocalEventEntry {
  Source: string;
  DetailType: string;
  Detail: Record<string, unknown>;
  Resources?: string[];
  EventBusName?: string;
}

export interface ServiceContext {
  region: string;
  accountId: string;
  /** Root of this service's durable state (created by the runtime). */
  dataDir: string;
  /** http://127.0.0.1:<port> — the runtime's single endpoint. */
  endpoint: string;
  /** Delivers an AWS-service event (e.g. source aws.sagemaker) to the default bus, as AWS does. */
  publishEvent(entry: LocalEventEntry): Promise<void>;
  /** Structured log line (never secrets). */
  log(message: string, fields?: Record<string, unknown>): void;
}

/** The repository root (this file lives in <root>/local). */
export const ROOT = resolve(__dirname, '..');
/** The stage the local runtime deploys (serverless.yml params.local). */
export const STAGE = 'local';
/** Credentials the runtime's own clients use; the runtime accepts any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_ACCOUNT_ID = '123456789012';
export const LOCAL_REGION = 'us-east-1';

/**
 * Where the output of the processes a service runs goes: CloudWatch Logs, one event per line, in a
 * log group and stream named the way AWS names them (created on first use). Timestamp: now unless given.
 */
export interface LogSink {
  put(group: string, stream: string, message: string, timestamp?: number): void;
}
