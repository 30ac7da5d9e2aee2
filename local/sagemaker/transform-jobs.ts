import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { AssemblyType, BatchStrategy, CompressionType, type DescribeModelOutput, JoinSource, type DescribeTransformJobResponse, type ModelClientConfig, S3DataType, type TransformInput, SplitType, TransformJobStatus, type TransformOutput } from '@aws-sdk/client-sagemaker';

import { epochSeconds, type JsonOperations } from '../http/aws-json';
import { freePort } from '../http/free-port';
import { JsonStore } from '../store/json-store';
import { listFiles } from './archive';
import {
  eventDetail,
  listPage,
  nameKey,
  optionalObject,
  optionalString,
  optionalStringMap,
  publishSageMakerEvent,
  readListQuery,
  readTags,
  requireName,
  resourceArn,
  tagMap,
  validationError,
} from './common';
import { acceptStop, ACTIVE_STATUSES, JobFailure, jobExists, type JobRunner, type JobsDependencies, type RunningJob } from './job-runner';
import { jobLogGroup, transformLogStream } from './log-streams';
import { fetchModelData } from './model-data';
import { s3Error } from './object-store';
import { type ContainerSession, startContainerSession } from './role-session';
import { CONTAINER_ML_DIR } from './sandbox';
import { post, waitForPing } from './serving-http';
import { assembleOutput, batchEnvironment, batchGroups, decompress, DEFAULT_MAX_RETRIES, joinLines, mapInOrder, outputUri, splitRecords, TransformDataError } from './transform-batches';
import { answersPerRecord, DATA_PROCESSING_CONTENT_TYPES, dataProcessor, type DataProcessingSettings, JsonPathError, parseFilter, processesData, recordFormat } from './transform-data-processing';
import type { Wire } from './types';

/**
 * Batch transform jobs: CreateTransformJob, Describe, List and Stop, and the run of each job: the
 * model's data in /opt/ml/model, its image's `serve` in the sandbox (as an endpoint variant runs),
 * healthy on GET /ping, then every object under the input S3Uri split, batched and POSTed to
 * /invocations, the responses assembled into `<object>.out` under S3OutputPath, the record and
 * the state-change event.
 */

type TransformDescribe = Wire<DescribeTransformJobResponse>;

/** A transform job's durable record: Describe's fields, plus LastModifiedTime (only List shows it). */
interface TransformRecord {
  describe: TransformDescribe;
  lastModifiedTime: number;
}

/** EventBridge detail-type of the transform job events (source aws.sagemaker). */
export const DETAIL_TYPE_TRANSFORM = 'SageMaker Transform Job State Change';

/** How long `serve` gets to answer GET /ping with 200 (SageMaker's container startup health check default). */
const HEALTH_CHECK_SECONDS = 600;
/** ModelClientConfig.InvocationsTimeoutInSeconds when the job gives none (SageMaker's default). */
const DEFAULT_INVOCATION_TIMEOUT_SECONDS = 600;
/** A transform job has no StoppingCondition; this bounds a local run that hangs. */
const MAX_RUNTIME_SECONDS = 86_400;
const SPLIT_TYPES: readonly string[] = Object.values(SplitType);
const BATCH_STRATEGIES: readonly string[] = Object.values(BatchStrategy);
const ASSEMBLY_TYPES: readonly string[] = Object.values(AssemblyType);
const COMPRESSION_TYPES: readonly string[] = Object.values(CompressionType);
const JOIN_SOURCES: readonly string[] = Object.values(JoinSource);

/** A running `serve`: where to reach it, its log stream, and why it exited once it has. */
interface Serving {
  port: number;
  logStream: string;
  exited(): string | undefined;
}

/** A model's record by name (the hosting controller's), undefined when there is none. */
export type ModelLookup = (name: string) => Wire<DescribeModelOutput> | undefined;

export class TransformJobs {
  private readonly store: JsonStore<TransformRecord>;

  constructor(
    private readonly deps: JobsDependencies,
    private readonly runner: JobRunner,
    private readonly model: ModelLookup,
  ) {
    this.store = new JsonStore(join(deps.ctx.dataDir, 'transform-jobs'));
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return {
      CreateTransformJob: async (input) => this.createTransformJob(input),
      DescribeTransformJob: async (input) => this.describeTransform(requireName(input, 'TransformJobName')),
      ListTransformJobs: async (input) => this.listTransformJobs(input),
      StopTransformJob: async (input) => this.stopJob(requireName(input, 'TransformJobName')),
    };
  }

  /** Whether a job of this name exists. */
  has(name: string): boolean {
    return this.store.get(nameKey(name)) !== undefined;
  }

  /** Boot: a job the previous runtime left InProgress runs again from the beginning; one left Stopping ends Stopped, with its event. */
  async recover(): Promise<void> {
    for (const { value } of this.store.list()) {
      const status = value.describe.TransformJobStatus ?? '';
      if (!ACTIVE_STATUSES.includes(status)) continue;
      const name = value.describe.TransformJobName!;
      if (status === TransformJobStatus.STOPPING) {
        this.finish(name, TransformJobStatus.STOPPED);
        await this.publish(name);
        continue;
      }
      this.update(name, () => undefined);
      this.runner.launch('transform', name, () => this.run(name));
    }
  }

  private createTransformJob(input: Record<string, unknown>): { TransformJobArn: string } {
    const name = requireName(input, 'TransformJobName');
    const modelName = requireName(input, 'ModelName');
    const transformInput = optionalObject<TransformInput>(input, 'TransformInput');
    if (!transformInput) throw validationError("1 validation error detected: Value at 'transformInput' failed to satisfy constraint: Member must not be null");
    const source = transformInput.DataSource?.S3DataSource;
    if (!source || typeof source.S3Uri !== 'string' || !/^(https|s3):\/\/[^/]+/.test(source.S3Uri)) {
      throw validationError("1 validation error detected: Value at 'transformInput.dataSource.s3DataSource.s3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$");
    }
    if (!source.S3Uri.startsWith('s3://')) throw validationError('TransformInput.DataSource.S3DataSource.S3Uri: only s3:// URIs are supported by the local runtime');
    if (source.S3DataType !== undefined && source.S3DataType !== S3DataType.S3_PREFIX) {
      throw validationError(`TransformInput.DataSource.S3DataSource.S3DataType ${String(source.S3DataType)} is not supported by the local runtime (S3Prefix is)`);
    }
    requireEnum(transformInput.SplitType, SPLIT_TYPES, 'transformInput.splitType');
    if (transformInput.SplitType === SplitType.RECORDIO || transformInput.SplitType === SplitType.TFRECORD) throw validationError(`TransformInput.SplitType ${transformInput.SplitType} is not supported by the local runtime (None and Line are)`);
    requireEnum(transformInput.CompressionType, COMPRESSION_TYPES, 'transformInput.compressionType');
    const output = optionalObject<TransformOutput>(input, 'TransformOutput');
    if (!output || typeof output.S3OutputPath !== 'string' || !output.S3OutputPath.startsWith('s3://')) {
      throw validationError("1 validation error detected: Value at 'transformOutput.s3OutputPath' failed to satisfy constraint: Member must be an s3:// URI");
    }
    requireEnum(output.AssembleWith, ASSEMBLY_TYPES, 'transformOutput.assembleWith');
    const resources = optionalObject<{ InstanceType?: string; InstanceCount?: number }>(input, 'TransformResources');
    if (!resources || typeof resources.InstanceType !== 'string' || typeof resources.InstanceCount !== 'number') {
      throw validationError("1 validation error detected: Value at 'transformResources' failed to satisfy constraint: Member must have an InstanceType and an InstanceCount");
    }
    const batchStrategy = optionalString(input, 'BatchStrategy');
    requireEnum(batchStrategy, BATCH_STRATEGIES, 'batchStrategy');
    const maxPayload = optionalNumberField(input, 'MaxPayloadInMB', 0, 100, 'maxPayloadInMB');
    const maxConcurrent = optionalNumberField(input, 'MaxConcurrentTransforms', 0, Number.MAX_SAFE_INTEGER, 'maxConcurrentTransforms');
    const clientConfig = optionalObject<ModelClientConfig>(input, 'ModelClientConfig');
    if (clientConfig) {
      optionalNumberField(clientConfig as Record<string, unknown>, 'InvocationsTimeoutInSeconds', 1, 3600, 'modelClientConfig.invocationsTimeoutInSeconds');
      optionalNumberField(clientConfig as Record<string, unknown>, 'InvocationsMaxRetries', 0, 3, 'modelClientConfig.invocationsMaxRetries');
    }
    const dataProcessing = optionalObject<DataProcessingSettings>(input, 'DataProcessing');
    if (dataProcessing) checkDataProcessing(dataProcessing, transformInput);
    const environment = optionalStringMap(input, 'Environment');
    const tags = readTags(input);
    const arn = resourceArn(this.deps.ctx, 'transform-job', name);
    if (this.store.get(nameKey(name))) throw jobExists(arn);
    if (!this.model(modelName)) throw validationError(`Could not find model "${resourceArn(this.deps.ctx, 'model', modelName)}".`);
    const now = epochSeconds();
    const describe: TransformDescribe = {
      TransformJobName: name,
      TransformJobArn: arn,
      TransformJobStatus: TransformJobStatus.IN_PROGRESS,
      ModelName: modelName,
      MaxConcurrentTransforms: maxConcurrent,
      ModelClientConfig: clientConfig,
      MaxPayloadInMB: maxPayload,
      BatchStrategy: batchStrategy as TransformDescribe['BatchStrategy'],
      Environment: environment,
      TransformInput: transformInput,
      TransformOutput: output,
      DataCaptureConfig: optionalObject(input, 'DataCaptureConfig'),
      TransformResources: resources as TransformDescribe['TransformResources'],
      CreationTime: now,
      DataProcessing: dataProcessing as TransformDescribe['DataProcessing'],
      ExperimentConfig: optionalObject(input, 'ExperimentConfig'),
    };
    this.store.put(nameKey(name), { describe, lastModifiedTime: now });
    this.deps.tags.put(arn, tags);
    this.runner.launch('transform', name, () => this.run(name));
    return { TransformJobArn: arn };
  }

  private describeTransform(name: string): TransformDescribe {
    const record = this.store.get(nameKey(name));
    if (!record) throw validationError(`Could not find requested job with name ${name}`);
    return record.describe;
  }

  private listTransformJobs(input: Record<string, unknown>): unknown {
    const { page, NextToken } = listPage(
      this.store.list().map(({ value }) => value),
      (r) => ({ name: r.describe.TransformJobName ?? '', status: r.describe.TransformJobStatus, creationTime: r.describe.CreationTime ?? 0, lastModifiedTime: r.lastModifiedTime }),
      readListQuery(input),
    );
    return {
      TransformJobSummaries: page.map(({ describe: d, lastModifiedTime }) => ({
        TransformJobName: d.TransformJobName,
        TransformJobArn: d.TransformJobArn,
        CreationTime: d.CreationTime,
        TransformEndTime: d.TransformEndTime,
        LastModifiedTime: lastModifiedTime,
        TransformJobStatus: d.TransformJobStatus,
        FailureReason: d.FailureReason,
      })),
      NextToken,
    };
  }

  private async run(name: string): Promise<void> {
    const job = this.store.get(nameKey(name))!.describe;
    const state = this.runner.track('transform', name, MAX_RUNTIME_SECONDS);
    this.update(name, (d) => {
      d.TransformStartTime = epochSeconds();
    });
    await this.publish(name);
    const model = this.model(job.ModelName!);
    const session = startContainerSession(this.deps.ctx, this.deps.options, model?.ExecutionRoleArn);
    let outcome: { status: TransformJobStatus; reason?: string };
    try {
      if (!model) throw new JobFailure(`ClientError: Could not find model "${resourceArn(this.deps.ctx, 'model', job.ModelName!)}".`);
      await this.transform(name, job, model, state, session);
      outcome = { status: state.stopReason ? TransformJobStatus.STOPPED : TransformJobStatus.COMPLETED };
    } catch (error) {
      const reason = error instanceof JobFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      outcome = state.stopReason ? { status: TransformJobStatus.STOPPED } : { status: TransformJobStatus.FAILED, reason };
    } finally {
      await state.child?.stop();
      session.end();
    }
    // Shutting down: the record stays InProgress and the next boot runs the job again (recover).
    if (this.runner.shuttingDown) return;
    this.finish(name, outcome.status, outcome.reason);
    await this.publish(name);
    // The copies of the inputs and the model go; the container's log stays under logs/TransformJobs.
    await rm(this.instanceDirectory(name), { recursive: true, force: true });
  }

  /** Where a job's serving instance lives on the host: ml/ (its /opt/ml) and input/ (the objects it transforms). */
  private instanceDirectory(name: string): string {
    return join(this.deps.ctx.dataDir, 'transform-instances', nameKey(name));
  }

  /** Starts `serve`, transforms every input object, uploads each `.out`; throws JobFailure on the first failure. */
  private async transform(name: string, job: TransformDescribe, model: Wire<DescribeModelOutput>, state: RunningJob, session: ContainerSession): Promise<void> {
    const root = this.instanceDirectory(name);
    const mlDirectory = join(root, 'ml');
    const inputDirectory = join(root, 'input');
    await rm(root, { recursive: true, force: true });
    await mkdir(join(mlDirectory, 'model'), { recursive: true });
    const container = model.PrimaryContainer!;
    if (container.ModelDataUrl) {
      try {
        await fetchModelData(session.objects, container.ModelDataUrl, join(mlDirectory, 'model'), join(root, 'model-download'));
      } catch (error) {
        throw new JobFailure(`ClientError: Failed to download model data from ${container.ModelDataUrl}: ${s3Error(error)}`);
      }
    }
    const inputUri = job.TransformInput!.DataSource!.S3DataSource!.S3Uri!;
    try {
      await session.objects.download(inputUri, inputDirectory);
    } catch (error) {
      throw new JobFailure(`ClientError: Failed to download the input data from ${inputUri}: ${s3Error(error)}`);
    }
    const files = (await listFiles(inputDirectory)).sort();
    if (files.length === 0) throw new JobFailure(`ClientError: No S3 objects found under S3 URL "${inputUri}" given in input data source. Please ensure that the bucket exists in the selected region, that objects exist under that S3 prefix, and that the role "${model.ExecutionRoleArn ?? ''}" has "s3:ListBucket" permissions on bucket.`);
    const serving = await this.startServe(name, job, model, state, mlDirectory, session);
    if (!serving) return;
    const dataLog = `${serving.logStream}/data-log`;
    const processor = dataProcessor(job.DataProcessing, job.TransformInput?.ContentType);
    for (const file of files) {
      if (state.stopReason || this.runner.shuttingDown) return;
      /** What the records and answers of this object become; a record that does not fit fails the job naming the object. */
      const transformData = <T>(work: () => T): T => {
        try {
          return work();
        } catch (error) {
          if (error instanceof TransformDataError) throw new JobFailure(`ClientError: ${file}: ${error.message}`);
          throw error;
        }
      };
      const body = await readFile(join(inputDirectory, file));
      const records = transformData(() => splitRecords(decompress(body, job.TransformInput?.CompressionType), job.TransformInput?.SplitType));
      const groups = transformData(() => batchGroups(processor ? records.map((record) => processor.input(record)) : records, job.BatchStrategy, job.MaxPayloadInMB, job.TransformInput?.SplitType));
      const payloads = groups.map(joinLines);
      const responses = await mapInOrder(payloads, Math.max(1, job.MaxConcurrentTransforms ?? 1), (payload) => this.invoke(serving, job, file, payload, state));
      const target = outputUri(job.TransformOutput!.S3OutputPath!, file);
      const written = processor?.pairsAnswers
        ? transformData(() => answersPerRecord(groups.map((group) => group.length), responses).map((answer, index) => processor.output(records[index]!, answer)))
        : responses;
      try {
        await session.objects.putObject(target, assembleOutput(written, job.TransformOutput?.AssembleWith));
      } catch (error) {
        throw new JobFailure(`ClientError: Failed to upload ${target}: ${s3Error(error)}`);
      }
      this.deps.options.logs?.put(jobLogGroup('transform'), dataLog, `${file}: ${payloads.length} request(s) transformed, written to ${target}`);
    }
  }

  /** Launches the model's `serve` and waits for GET /ping; returns how to reach it, or undefined when the job was stopped meanwhile. */
  private async startServe(name: string, job: TransformDescribe, model: Wire<DescribeModelOutput>, state: RunningJob, mlDirectory: string, session: ContainerSession): Promise<Serving | undefined> {
    const container = model.PrimaryContainer!;
    let image;
    try {
      image = await this.deps.options.resolveImage({ imageUri: container.Image!, purpose: 'hosting', tags: tagMap(this.deps.tags.get(model.ModelArn!)) });
    } catch (error) {
      throw new JobFailure(`ClientError: image ${container.Image} has no local command: ${(error as Error).message}`);
    }
    const port = await freePort();
    const group = jobLogGroup('transform');
    const stream = transformLogStream(name, Date.now());
    if (state.stopReason || this.runner.shuttingDown) return undefined;
    const child = this.deps.containers.launch(`transform-job.${nameKey(name)}`, {
      command: [...image.command, 'serve'],
      env: {
        ...session.env,
        ...image.env,
        ...container.Environment,
        ...job.Environment,
        ...batchEnvironment(job),
        SAGEMAKER_BIND_TO_PORT: String(port),
        SM_MODEL_DIR: `${CONTAINER_ML_DIR}/model`,
      },
      cwd: image.cwd,
      mlDirectory,
      // The runtime reaches `serve` on loopback, so it shares the host's network (as endpoint variants do).
      networkIsolation: false,
      logFile: join(this.deps.ctx.dataDir, 'logs', 'TransformJobs', `${name}.log`),
      onLine: (line) => this.deps.options.logs?.put(group, stream, line),
    });
    state.child = child;
    let exitReason: string | undefined;
    void child.done.then((exit) => {
      exitReason = `the serve process exited with ${exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`}${exit.stderrTail.trim() ? `: ${exit.stderrTail.trim().slice(-512)}` : ''}`;
    });
    const healthy = await waitForPing(port, child, HEALTH_CHECK_SECONDS * 1000);
    if (state.stopReason || this.runner.shuttingDown) return undefined;
    if (healthy !== true) throw new JobFailure(`ClientError: The model container did not pass the ping health check (${healthy}). Please check the logs for this transform job.`);
    return { port, logStream: stream, exited: () => exitReason };
  }

  /**
   * POSTs one payload to /invocations within InvocationsTimeoutInSeconds, retrying 5xx answers and
   * timeouts InvocationsMaxRetries times. Otherwise JobFailure naming the object and why (the
   * status and body, the timeout, or the serve process's exit), also written to the data-log.
   */
  private async invoke(serving: Serving, job: TransformDescribe, file: string, payload: Buffer, state: RunningJob): Promise<Buffer> {
    const headers: Record<string, string> = { 'content-length': String(payload.length) };
    if (job.TransformInput?.ContentType) headers['content-type'] = job.TransformInput.ContentType;
    if (job.TransformOutput?.Accept) headers.accept = job.TransformOutput.Accept;
    const retries = job.ModelClientConfig?.InvocationsMaxRetries ?? DEFAULT_MAX_RETRIES;
    const timeoutMs = (job.ModelClientConfig?.InvocationsTimeoutInSeconds ?? DEFAULT_INVOCATION_TIMEOUT_SECONDS) * 1000;
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      if (state.stopReason) throw new JobFailure('ClientError: the transform job was stopped');
      try {
        const response = await post(serving.port, '/invocations', headers, payload, timeoutMs);
        if (response.status >= 200 && response.status < 300) return response.body;
        last = `the model answered ${response.status}: ${response.body.toString('utf8').slice(0, 512)}`;
        if (response.status < 500) break;
      } catch (error) {
        // Let the exit be recorded: a refused connection usually means the process just died.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const exited = serving.exited();
        last = exited ?? `the model did not answer: ${(error as Error).message}`;
        if (exited) break;
      }
    }
    const reason = `${file}: POST /invocations failed: ${last}`;
    this.deps.options.logs?.put(jobLogGroup('transform'), `${serving.logStream}/data-log`, reason);
    throw new JobFailure(`ClientError: ${reason}. See the data-log stream in /aws/sagemaker/TransformJobs`);
  }

  private finish(name: string, status: TransformJobStatus, reason?: string): void {
    const now = epochSeconds();
    this.update(name, (d) => {
      Object.assign(d, { TransformJobStatus: status, TransformEndTime: now });
      if (reason !== undefined) d.FailureReason = reason;
    });
  }

  private async stopJob(name: string): Promise<Record<string, never>> {
    if (!acceptStop('transform', name, this.store.get(nameKey(name))?.describe.TransformJobStatus)) return {};
    this.update(name, (d) => Object.assign(d, { TransformJobStatus: TransformJobStatus.STOPPING }));
    this.runner.requestStop('transform', name, 'stop');
    return {};
  }

  /** Applies `change` to the job's record and stamps LastModifiedTime. */
  private update(name: string, change: (describe: TransformDescribe) => void): void {
    const record = this.store.get(nameKey(name));
    if (!record) return;
    change(record.describe);
    record.lastModifiedTime = epochSeconds();
    this.store.put(nameKey(name), record);
  }

  private async publish(name: string): Promise<void> {
    const d = this.store.get(nameKey(name))!.describe;
    await publishSageMakerEvent(this.deps.ctx, DETAIL_TYPE_TRANSFORM, d.TransformJobArn!, eventDetail(d, this.deps.tags.get(d.TransformJobArn!)));
  }
}

/** A number field within [min, max], or undefined; ValidationException naming the field otherwise. */
function optionalNumberField(input: Record<string, unknown>, field: string, min: number, max: number, wireName: string): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validationError(`1 validation error detected: Value '${String(value)}' at '${wireName}' failed to satisfy constraint: Member must be an integer between ${min} and ${max}`);
  }
  return value;
}

/**
 * DataProcessing as CreateTransformJob checks it: JoinSource None or Input, filters in the JSONPath
 * subset SageMaker documents. Locally, filters and joins apply to SplitType Line records of CSV or
 * JSON (what the documentation's examples use); other settings are refused rather than ignored.
 */
function checkDataProcessing(settings: DataProcessingSettings, input: TransformInput): void {
  requireEnum(settings.JoinSource, JOIN_SOURCES, 'dataProcessing.joinSource');
  for (const field of ['InputFilter', 'OutputFilter'] as const) {
    const filter = settings[field];
    if (filter === undefined) continue;
    if (typeof filter !== 'string') throw validationError(`1 validation error detected: Value at 'dataProcessing.${field[0]!.toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must be a string`);
    try {
      parseFilter(filter);
    } catch (error) {
      if (error instanceof JsonPathError) throw validationError(`DataProcessing.${field} ${filter}: ${error.message}`);
      throw error;
    }
  }
  if (!processesData(settings)) return;
  if (recordFormat(input.ContentType) === undefined) throw validationError(`DataProcessing applies to CSV and JSON input: TransformInput.ContentType must be one of ${DATA_PROCESSING_CONTENT_TYPES.join(', ')}, got ${input.ContentType ?? 'none'}`);
  if (input.SplitType !== SplitType.LINE) throw validationError(`DataProcessing is applied by the local runtime to SplitType Line records only: TransformInput.SplitType is ${input.SplitType ?? 'None'}`);
}

function requireEnum(value: unknown, allowed: readonly string[], field: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw validationError(`1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
}
