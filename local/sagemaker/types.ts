import type { IncomingMessage, ServerResponse } from 'node:http';

import type { LogSink } from '../context';
import type { JsonOperations } from '../http/aws-json';
import type { ContainerSandbox } from './sandbox';

/**
 * The contracts between the local SageMaker and the runtime that composes it. The runtime decides
 * which local command stands for a container image and where S3 lives; this service only runs
 * jobs under SageMaker's container contracts and keeps the records.
 */

/** Which local command stands for a container image (resolved by the runtime from mlops.yaml's Local.Images or its own config). */
export interface ResolvedImage {
  command: string[];
  cwd: string;
  env?: Record<string, string>;
}

/** Maps an image URI (plus the job's tags) to a local command. Rejects when the image has no local stand-in. */
export type ResolveImage = (request: { imageUri: string; tags: Record<string, string>; purpose: 'processing' | 'training' | 'hosting' }) => Promise<ResolvedImage>;

/** Temporary credentials standing for an IAM role (structurally local/iam/sessions.ts's). */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** What STS does when SageMaker assumes a job's (or a model's) execution role (the runtime passes local/iam's RoleSessions). */
export interface RoleSessionIssuer {
  /** New credentials for the role, valid until end(). */
  start(roleArn: string, sessionName: string): RoleCredentials;
  end(accessKeyId: string): void;
}

/** S3 as the jobs need it. */
export interface ObjectStore {
  /** Downloads the object at an s3:// URI, or every object under it when it is a prefix, into `directory` (keys relative to the prefix). Returns the file count. */
  download(s3Uri: string, directory: string): Promise<number>;
  /** Uploads every file under `directory` to the s3:// prefix. */
  upload(directory: string, s3Uri: string): Promise<void>;
  putObject(s3Uri: string, body: Buffer): Promise<void>;
  /** The same store acting with a role's credentials (S3 then authorizes as that role); close() when done. Absent: the store acts as itself. */
  as?(credentials: RoleCredentials): ObjectStore & { close(): void };
}

/** One CloudWatch datapoint (structurally the local CloudWatch's `LocalMetricDatum`). */
export interface HostingMetricDatum {
  Namespace: string;
  MetricName: string;
  Dimensions: { Name: string; Value: string }[];
  Value: number;
  Unit?: string;
  /** Epoch milliseconds. */
  Timestamp?: number;
}

/** What `createSageMakerService` needs besides the service context. */
export interface SageMakerServiceOptions {
  resolveImage: ResolveImage;
  objects: ObjectStore;
  /**
   * How every job and endpoint variant runs: in a bubblewrap sandbox where its directory is the
   * literal /opt/ml, or (the fallback) as a host process with /opt/ml rewritten. The runtime
   * picks it once with `detectSandbox`; tests pass either.
   */
  sandbox: ContainerSandbox;
  /**
   * Role sessions for jobs and endpoint variants: their containers get the session's credentials,
   * and SageMaker's own transfers (inputs, outputs, model data) use them too, as on AWS. Without
   * it, containers get placeholder keys and transfers use `objects` as it is.
   */
  roleSessions?: RoleSessionIssuer;
  /**
   * How long a container gets between SIGTERM and SIGKILL when its job is stopped or runs out of
   * time, or its endpoint variant is retired (default STOP_GRACE_SECONDS, SageMaker's 120 s);
   * tests pass less.
   */
  stopGraceSeconds?: number;
  /** The same, when the whole runtime shuts down (default SHUTDOWN_GRACE_SECONDS, 5 s, so Ctrl-C is prompt). */
  shutdownGraceSeconds?: number;
  /**
   * CloudWatch alarm states, for deployment guardrails: an UpdateEndpoint with a DeploymentConfig
   * rolls back when one of its AutoRollbackConfiguration alarms is `ALARM` during a baking
   * period (the runtime passes the local CloudWatch's `alarmState`). Without it no alarm trips.
   */
  alarms?: { state(alarmName: string): string | undefined };
  /**
   * CloudWatch Logs: every output line of a job's or endpoint variant's container becomes an event
   * in the log group and stream AWS would use (the runtime passes the local Logs' sink).
   */
  logs?: LogSink;
  /** Where InvokeEndpoint's AWS/SageMaker invocation metrics go (the local CloudWatch's `putMetric`). */
  metrics?: { put(datum: HostingMetricDatum): void };
  /** How often a baking period polls the alarms and the new fleet's GET /ping (default 250 ms). */
  bakePollMs?: number;
}

/** The local SageMaker as the runtime mounts it. */
export interface SageMakerService {
  /** awsJson1_1 operations, X-Amz-Target `SageMaker.<Op>`. */
  operations: JsonOperations;
  /** SageMaker Runtime InvokeEndpoint: POST /endpoints/<name>/invocations (restJson1). Optional if hosting is not done. */
  handleRuntime?(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Boot: jobs left InProgress by a previous process run again from the beginning (left Stopping: end Stopped), with their events; endpoints restart. */
  start(): Promise<void>;
  /** Kills every child process (whole process groups) and waits for them. */
  stop(): Promise<void>;
}

/** A value as it travels on the JSON wire: timestamps are epoch seconds, not Dates. */
export type Wire<T> = T extends Date
  ? number
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;
