import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  type AppSpecification,
  type Channel,
  type DescribeProcessingJobResponse,
  type DescribeTrainingJobResponse,
  type MetricDefinition,
  type ProcessingInput,
  type ProcessingOutputConfig,
  ProcessingJobStatus,
  SecondaryStatus,
  TrainingJobStatus,
} from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import { AwsServiceError, epochSeconds, type JsonOperations } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { listFiles, tarGzDirectory } from './archive';
import {
  eventDetail,
  listPage,
  nameKey,
  optionalArray,
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
import { CURRENT_HOST, hostEnvironment, rewritePath, trainingEnvironment, type TrainingPaths, trainingPaths } from './contract';
import type { ProcessExit } from './process';
import { CONTAINER_ML_DIR, type ContainerLaunch } from './sandbox';
import { type ContainerSupervisor, type RunningContainer, SHUTDOWN_GRACE_SECONDS } from './supervisor';
import type { SageMakerServiceOptions, Wire } from './types';
import type { TagStore } from './tags';

/**
 * Processing and training jobs, run as local processes under SageMaker's container contracts.
 * Each job gets `<dataDir>/jobs/<name>/`, shaped like the container's /opt/ml; the service's
 * sandbox makes it the container's literal /opt/ml (or, in the fallback, rewrites `/opt/ml` in
 * the command line and the environment). Jobs run after Create returns; their records are
 * durable, their processes are not (see `recover`).
 */

type ProcessingDescribe = Wire<DescribeProcessingJobResponse>;
type TrainingDescribe = Wire<DescribeTrainingJobResponse>;
type JobKind = 'processing' | 'training';

interface JobRecord<D> {
  describe: D;
}

/** What a running job's controller knows; only in memory. */
interface RunningJob {
  child?: RunningContainer;
  stopReason?: 'stop' | 'timeout';
  timers: NodeJS.Timeout[];
}

/** EventBridge detail-types of the job events (source aws.sagemaker). */
export const DETAIL_TYPE_PROCESSING = 'SageMaker Processing Job State Change';
export const DETAIL_TYPE_TRAINING = 'SageMaker Training Job State Change';
/** FailureReason of a job whose runtime went away while it ran. */
export const RESTART_FAILURE_REASON = 'local runtime restarted while the job was running';

const DEFAULT_MAX_RUNTIME_SECONDS = 86_400;
const FAILURE_REASON_LIMIT = 1024;
const ACTIVE_STATUSES: readonly string[] = [ProcessingJobStatus.IN_PROGRESS, ProcessingJobStatus.STOPPING];


/** What the job controller works with. */
export interface JobsDependencies {
  ctx: ServiceContext;
  options: SageMakerServiceOptions;
  tags: TagStore;
  containers: ContainerSupervisor;
}

/**
 * Processing and training jobs: the operations, the background run of each job (download, run
 * the container process, upload, record, publish), and recovery/shutdown.
 */
export class JobController {
  private readonly processing: JsonStore<JobRecord<ProcessingDescribe>>;
  private readonly training: JsonStore<JobRecord<TrainingDescribe>>;
  private readonly running = new Map<string, RunningJob>();
  private readonly tasks = new Set<Promise<void>>();
  private shuttingDown = false;

  constructor(private readonly deps: JobsDependencies) {
    this.processing = new JsonStore(join(deps.ctx.dataDir, 'processing-jobs'));
    this.training = new JsonStore(join(deps.ctx.dataDir, 'training-jobs'));
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return {
      CreateProcessingJob: async (input) => this.createProcessingJob(input),
      DescribeProcessingJob: async (input) => this.describeProcessing(requireName(input, 'ProcessingJobName')),
      ListProcessingJobs: async (input) => this.listProcessingJobs(input),
      StopProcessingJob: async (input) => this.stopJob('processing', requireName(input, 'ProcessingJobName')),
      CreateTrainingJob: async (input) => this.createTrainingJob(input),
      DescribeTrainingJob: async (input) => this.describeTraining(requireName(input, 'TrainingJobName')),
      ListTrainingJobs: async (input) => this.listTrainingJobs(input),
      StopTrainingJob: async (input) => this.stopJob('training', requireName(input, 'TrainingJobName')),
    };
  }

  /** Whether `arn` names a job this service knows (for AddTags/ListTags). */
  hasResource(arn: string): boolean {
    const match = /:(processing|training)-job\/([^/]+)$/.exec(arn);
    if (!match) return false;
    return (match[1] === 'processing' ? this.processing : this.training).get(nameKey(match[2]!)) !== undefined;
  }

  /**
   * Boot: a job the previous runtime left InProgress or Stopping has lost its process (the
   * supervisor has killed what was left of it); it ends Failed with RESTART_FAILURE_REASON and its event.
   */
  async recover(): Promise<void> {
    const now = epochSeconds();
    for (const { value } of this.processing.list()) {
      if (!ACTIVE_STATUSES.includes(value.describe.ProcessingJobStatus ?? '')) continue;
      const name = value.describe.ProcessingJobName!;
      this.update(this.processing, name, (d) => {
        Object.assign(d, { ProcessingJobStatus: ProcessingJobStatus.FAILED, FailureReason: RESTART_FAILURE_REASON, ProcessingEndTime: now, LastModifiedTime: now });
      });
      await this.publish('processing', name);
    }
    for (const { value } of this.training.list()) {
      if (!ACTIVE_STATUSES.includes(value.describe.TrainingJobStatus ?? '')) continue;
      const name = value.describe.TrainingJobName!;
      this.update(this.training, name, (d) => {
        transition(d, SecondaryStatus.FAILED, RESTART_FAILURE_REASON, now);
        Object.assign(d, { TrainingJobStatus: TrainingJobStatus.FAILED, FailureReason: RESTART_FAILURE_REASON, TrainingEndTime: now, LastModifiedTime: now });
      });
      await this.publish('training', name);
    }
  }

  /**
   * Shutdown: every job's container is stopped with the shutdown grace; the
   * records stay InProgress, so the next start() fails them with the restart reason.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    const graceMs = (this.deps.options.shutdownGraceSeconds ?? SHUTDOWN_GRACE_SECONDS) * 1000;
    for (const job of this.running.values()) void job.child?.stop(graceMs);
    await Promise.allSettled([...this.tasks]);
  }

  // ---- processing ----

  private async createProcessingJob(input: Record<string, unknown>): Promise<{ ProcessingJobArn: string }> {
    const name = requireName(input, 'ProcessingJobName');
    const app = optionalObject<AppSpecification>(input, 'AppSpecification');
    if (!app || typeof app.ImageUri !== 'string' || app.ImageUri === '') throw validationError("1 validation error detected: Value at 'appSpecification.imageUri' failed to satisfy constraint: Member must not be null");
    if (!optionalObject(input, 'ProcessingResources')) throw validationError("1 validation error detected: Value at 'processingResources' failed to satisfy constraint: Member must not be null");
    const roleArn = optionalString(input, 'RoleArn');
    if (!roleArn) throw validationError("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must not be null");
    const inputs = optionalArray<ProcessingInput>(input, 'ProcessingInputs') ?? [];
    for (const [index, item] of inputs.entries()) {
      if (!item?.S3Input) throw validationError(`ProcessingInputs.${index + 1}: only S3Input is supported by the local runtime`);
      if (typeof item.S3Input.S3Uri !== 'string' || !item.S3Input.S3Uri.startsWith('s3://')) throw validationError(`ProcessingInputs.${index + 1}.S3Input.S3Uri must be an s3:// URI`);
      requireProcessingPath(item.S3Input.LocalPath, `ProcessingInputs.${index + 1}.S3Input.LocalPath`);
    }
    const outputConfig = optionalObject<ProcessingOutputConfig>(input, 'ProcessingOutputConfig');
    for (const [index, item] of (outputConfig?.Outputs ?? []).entries()) {
      if (!item?.S3Output) throw validationError(`ProcessingOutputConfig.Outputs.${index + 1}: only S3Output is supported by the local runtime`);
      if (typeof item.S3Output.S3Uri !== 'string' || !item.S3Output.S3Uri.startsWith('s3://')) throw validationError(`ProcessingOutputConfig.Outputs.${index + 1}.S3Output.S3Uri must be an s3:// URI`);
      requireProcessingPath(item.S3Output.LocalPath, `ProcessingOutputConfig.Outputs.${index + 1}.S3Output.LocalPath`);
    }
    const environment = optionalStringMap(input, 'Environment');
    const stopping = optionalObject<{ MaxRuntimeInSeconds?: number }>(input, 'StoppingCondition');
    const tags = readTags(input);
    const arn = resourceArn(this.deps.ctx, 'processing-job', name);
    if (this.processing.get(nameKey(name))) throw jobExists(arn);
    const now = epochSeconds();
    const describe: ProcessingDescribe = {
      ProcessingJobName: name,
      ProcessingJobArn: arn,
      ProcessingInputs: inputs,
      ProcessingOutputConfig: outputConfig,
      ProcessingResources: input.ProcessingResources as ProcessingDescribe['ProcessingResources'],
      StoppingCondition: { MaxRuntimeInSeconds: stopping?.MaxRuntimeInSeconds ?? DEFAULT_MAX_RUNTIME_SECONDS },
      AppSpecification: app,
      Environment: environment,
      NetworkConfig: optionalObject(input, 'NetworkConfig'),
      ExperimentConfig: optionalObject(input, 'ExperimentConfig'),
      RoleArn: roleArn,
      ProcessingJobStatus: ProcessingJobStatus.IN_PROGRESS,
      CreationTime: now,
      LastModifiedTime: now,
    };
    this.processing.put(nameKey(name), { describe });
    this.deps.tags.put(arn, tags);
    this.launch('processing', name, () => this.runProcessing(name));
    return { ProcessingJobArn: arn };
  }

  private describeProcessing(name: string): ProcessingDescribe {
    const record = this.processing.get(nameKey(name));
    if (!record) throw validationError(`Could not find requested job with name ${name}`);
    return record.describe;
  }

  private listProcessingJobs(input: Record<string, unknown>): unknown {
    const jobs = this.processing.list().map(({ value }) => value.describe);
    const { page, NextToken } = listPage(
      jobs,
      (d) => ({ name: d.ProcessingJobName ?? '', status: d.ProcessingJobStatus, creationTime: d.CreationTime ?? 0, lastModifiedTime: d.LastModifiedTime }),
      readListQuery(input),
    );
    return {
      ProcessingJobSummaries: page.map((d) => ({
        ProcessingJobName: d.ProcessingJobName,
        ProcessingJobArn: d.ProcessingJobArn,
        CreationTime: d.CreationTime,
        ProcessingEndTime: d.ProcessingEndTime,
        LastModifiedTime: d.LastModifiedTime,
        ProcessingJobStatus: d.ProcessingJobStatus,
        FailureReason: d.FailureReason,
        ExitMessage: d.ExitMessage,
      })),
      NextToken,
    };
  }

  private async runProcessing(name: string): Promise<void> {
    const { ctx, options } = this.deps;
    const record = this.processing.get(nameKey(name))!;
    const job = record.describe;
    const dir = this.jobDirectory(name);
    const state = this.track('processing', name, job.StoppingCondition?.MaxRuntimeInSeconds);
    this.update(this.processing, name, (d) => {
      d.ProcessingStartTime = epochSeconds();
    });
    await this.publish('processing', name);
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dir, 'config'), { recursive: true });
      await writeFile(join(dir, 'config', 'processingjobconfig.json'), JSON.stringify(job, null, 2));
      await writeFile(join(dir, 'config', 'resourceconfig.json'), JSON.stringify({ current_host: CURRENT_HOST, hosts: [CURRENT_HOST] }));
      for (const item of job.ProcessingInputs ?? []) {
        const s3 = item.S3Input!;
        try {
          await options.objects.download(s3.S3Uri!, rewritePath(s3.LocalPath!, dir));
        } catch (error) {
          throw new JobFailure(`ClientError: Failed to download data for input ${item.InputName}: ${(error as Error).message}`);
        }
      }
      for (const output of job.ProcessingOutputConfig?.Outputs ?? []) await mkdir(rewritePath(output.S3Output!.LocalPath!, dir), { recursive: true });
      const image = await this.resolve(job.AppSpecification!.ImageUri!, 'processing', job.ProcessingJobArn!);
      const exit = await this.execute('processing', name, state, {
        command: [...(job.AppSpecification?.ContainerEntrypoint ?? image.command), ...(job.AppSpecification?.ContainerArguments ?? [])],
        env: { ...hostEnvironment(ctx), ...image.env, ...job.Environment },
        cwd: image.cwd,
        mlDirectory: dir,
        networkIsolation: job.NetworkConfig?.EnableNetworkIsolation === true,
      });
      if (!exit) return;
      if (state.stopReason) {
        this.finishProcessing(name, ProcessingJobStatus.STOPPED, state.stopReason === 'timeout' ? maxRuntimeReason(job.StoppingCondition?.MaxRuntimeInSeconds) : undefined);
      } else if (exit.code === 0) {
        for (const output of job.ProcessingOutputConfig?.Outputs ?? []) {
          try {
            await options.objects.upload(rewritePath(output.S3Output!.LocalPath!, dir), output.S3Output!.S3Uri!);
          } catch (error) {
            throw new JobFailure(`ClientError: Failed to upload output ${output.OutputName}: ${(error as Error).message}`);
          }
        }
        this.finishProcessing(name, ProcessingJobStatus.COMPLETED);
      } else {
        this.finishProcessing(name, ProcessingJobStatus.FAILED, await failureReason(dir, exit, 'processing'));
      }
    } catch (error) {
      if (this.shuttingDown) return;
      const reason = error instanceof JobFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      this.finishProcessing(name, state.stopReason ? ProcessingJobStatus.STOPPED : ProcessingJobStatus.FAILED, reason);
    }
    await this.publish('processing', name);
  }

  private finishProcessing(name: string, status: ProcessingJobStatus, reason?: string): void {
    const now = epochSeconds();
    this.update(this.processing, name, (d) => {
      Object.assign(d, { ProcessingJobStatus: status, ProcessingEndTime: now, LastModifiedTime: now });
      if (reason !== undefined) d.FailureReason = reason;
    });
  }

  // ---- training ----

  private async createTrainingJob(input: Record<string, unknown>): Promise<{ TrainingJobArn: string }> {
    const name = requireName(input, 'TrainingJobName');
    const algorithm = optionalObject<Wire<NonNullable<TrainingDescribe['AlgorithmSpecification']>>>(input, 'AlgorithmSpecification');
    if (!algorithm) throw validationError("1 validation error detected: Value at 'algorithmSpecification' failed to satisfy constraint: Member must not be null");
    if (typeof algorithm.TrainingImage !== 'string' || algorithm.TrainingImage === '') throw validationError('AlgorithmSpecification.TrainingImage is required by the local runtime (AlgorithmName is not supported)');
    for (const definition of algorithm.MetricDefinitions ?? []) compileMetric(definition);
    const roleArn = optionalString(input, 'RoleArn');
    if (!roleArn) throw validationError("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must not be null");
    const output = optionalObject<{ S3OutputPath?: string }>(input, 'OutputDataConfig');
    if (!output || typeof output.S3OutputPath !== 'string' || !output.S3OutputPath.startsWith('s3://')) throw validationError("1 validation error detected: Value at 'outputDataConfig.s3OutputPath' failed to satisfy constraint: Member must be an s3:// URI");
    if (!optionalObject(input, 'ResourceConfig')) throw validationError("1 validation error detected: Value at 'resourceConfig' failed to satisfy constraint: Member must not be null");
    const channels = optionalArray<Channel>(input, 'InputDataConfig') ?? [];
    const seen = new Set<string>();
    for (const [index, channel] of channels.entries()) {
      if (typeof channel?.ChannelName !== 'string' || !/^[A-Za-z0-9.\-_]{1,64}$/.test(channel.ChannelName)) throw validationError(`InputDataConfig.${index + 1}.ChannelName must match [A-Za-z0-9\\.\\-_]+`);
      if (seen.has(channel.ChannelName)) throw validationError(`InputDataConfig: channel ${channel.ChannelName} appears twice`);
      seen.add(channel.ChannelName);
      const uri = channel.DataSource?.S3DataSource?.S3Uri;
      if (typeof uri !== 'string' || !uri.startsWith('s3://')) throw validationError(`InputDataConfig.${index + 1}: only DataSource.S3DataSource with an s3:// S3Uri is supported by the local runtime`);
    }
    const hyperParameters = optionalStringMap(input, 'HyperParameters');
    const environment = optionalStringMap(input, 'Environment');
    const stopping = optionalObject<{ MaxRuntimeInSeconds?: number; MaxWaitTimeInSeconds?: number }>(input, 'StoppingCondition');
    const tags = readTags(input);
    const arn = resourceArn(this.deps.ctx, 'training-job', name);
    if (this.training.get(nameKey(name))) throw jobExists(arn);
    const now = epochSeconds();
    const describe: TrainingDescribe = {
      TrainingJobName: name,
      TrainingJobArn: arn,
      ModelArtifacts: undefined,
      TrainingJobStatus: TrainingJobStatus.IN_PROGRESS,
      SecondaryStatus: SecondaryStatus.STARTING,
      HyperParameters: hyperParameters,
      AlgorithmSpecification: algorithm,
      RoleArn: roleArn,
      InputDataConfig: channels,
      OutputDataConfig: output as TrainingDescribe['OutputDataConfig'],
      ResourceConfig: input.ResourceConfig as TrainingDescribe['ResourceConfig'],
      VpcConfig: optionalObject(input, 'VpcConfig'),
      StoppingCondition: { ...stopping, MaxRuntimeInSeconds: stopping?.MaxRuntimeInSeconds ?? DEFAULT_MAX_RUNTIME_SECONDS },
      CreationTime: now,
      LastModifiedTime: now,
      SecondaryStatusTransitions: [{ Status: SecondaryStatus.STARTING, StartTime: now, StatusMessage: 'Preparing the instances for training' }],
      EnableNetworkIsolation: input.EnableNetworkIsolation === true,
      EnableInterContainerTrafficEncryption: input.EnableInterContainerTrafficEncryption === true,
      EnableManagedSpotTraining: input.EnableManagedSpotTraining === true,
      CheckpointConfig: optionalObject(input, 'CheckpointConfig'),
      ExperimentConfig: optionalObject(input, 'ExperimentConfig'),
      Environment: environment,
      RetryStrategy: optionalObject(input, 'RetryStrategy'),
    };
    this.training.put(nameKey(name), { describe });
    this.deps.tags.put(arn, tags);
    this.launch('training', name, () => this.runTraining(name));
    return { TrainingJobArn: arn };
  }

  private describeTraining(name: string): TrainingDescribe {
    const record = this.training.get(nameKey(name));
    // DescribeTrainingJob answers an unknown name this way on AWS.
    if (!record) throw validationError('Requested resource not found.');
    return record.describe;
  }

  private listTrainingJobs(input: Record<string, unknown>): unknown {
    const jobs = this.training.list().map(({ value }) => value.describe);
    const { page, NextToken } = listPage(
      jobs,
      (d) => ({ name: d.TrainingJobName ?? '', status: d.TrainingJobStatus, creationTime: d.CreationTime ?? 0, lastModifiedTime: d.LastModifiedTime }),
      readListQuery(input),
    );
    return {
      TrainingJobSummaries: page.map((d) => ({
        TrainingJobName: d.TrainingJobName,
        TrainingJobArn: d.TrainingJobArn,
        CreationTime: d.CreationTime,
        TrainingEndTime: d.TrainingEndTime,
        LastModifiedTime: d.LastModifiedTime,
        TrainingJobStatus: d.TrainingJobStatus,
        SecondaryStatus: d.SecondaryStatus,
      })),
      NextToken,
    };
  }

  private async runTraining(name: string): Promise<void> {
    const { ctx, options } = this.deps;
    const job = this.training.get(nameKey(name))!.describe;
    const dir = this.jobDirectory(name);
    const state = this.track('training', name, job.StoppingCondition?.MaxRuntimeInSeconds);
    const metrics = new Map<string, { Value: number; Timestamp: number }>();
    const definitions = (job.AlgorithmSpecification?.MetricDefinitions ?? []).map((definition) => ({ name: definition.Name!, regex: compileMetric(definition) }));
    const startedAt = epochSeconds();
    this.update(this.training, name, (d) => {
      d.TrainingStartTime = startedAt;
      transition(d, SecondaryStatus.DOWNLOADING, 'Downloading input data', startedAt);
    });
    await this.publish('training', name);
    const paths = trainingPaths(dir);
    try {
      await rm(dir, { recursive: true, force: true });
      for (const path of [paths.config, paths.model, paths.outputData, paths.code]) await mkdir(path, { recursive: true });
      const channels = job.InputDataConfig ?? [];
      for (const channel of channels) {
        try {
          await options.objects.download(channel.DataSource!.S3DataSource!.S3Uri!, join(paths.data, channel.ChannelName!));
        } catch (error) {
          throw new JobFailure(`ClientError: Failed to download data for channel ${channel.ChannelName}: ${(error as Error).message}`);
        }
      }
      const hyperParameters = job.HyperParameters ?? {};
      const inputDataConfig = Object.fromEntries(
        channels.map((channel) => [
          channel.ChannelName!,
          {
            ...(channel.ContentType ? { ContentType: channel.ContentType } : {}),
            TrainingInputMode: channel.InputMode ?? job.AlgorithmSpecification?.TrainingInputMode ?? 'File',
            S3DistributionType: channel.DataSource?.S3DataSource?.S3DataDistributionType ?? 'FullyReplicated',
            RecordWrapperType: channel.RecordWrapperType ?? 'None',
          },
        ]),
      );
      const resourceConfig = { current_host: CURRENT_HOST, current_instance_type: job.ResourceConfig?.InstanceType, hosts: [CURRENT_HOST], network_interface_name: 'eth0' };
      await writeFile(join(paths.config, 'hyperparameters.json'), JSON.stringify(hyperParameters));
      await writeFile(join(paths.config, 'inputdataconfig.json'), JSON.stringify(inputDataConfig));
      await writeFile(join(paths.config, 'resourceconfig.json'), JSON.stringify(resourceConfig));
      const image = await this.resolve(job.AlgorithmSpecification!.TrainingImage!, 'training', job.TrainingJobArn!);
      const entrypoint = job.AlgorithmSpecification?.ContainerEntrypoint;
      this.update(this.training, name, (d) => transition(d, SecondaryStatus.TRAINING, 'Training image download completed. Training in progress.'));
      const exit = await this.execute('training', name, state, {
        command: entrypoint ? [...entrypoint, ...(job.AlgorithmSpecification?.ContainerArguments ?? [])] : [...image.command, 'train'],
        env: {
          ...hostEnvironment(ctx),
          ...image.env,
          ...job.Environment,
          ...trainingEnvironment(job, trainingPaths(CONTAINER_ML_DIR), hyperParameters, inputDataConfig, resourceConfig),
        },
        cwd: image.cwd,
        mlDirectory: dir,
        networkIsolation: job.EnableNetworkIsolation === true,
        onLine: (line) => {
          for (const definition of definitions) {
            const match = definition.regex.exec(line);
            const value = match ? Number.parseFloat(match[1] ?? '') : Number.NaN;
            if (Number.isFinite(value)) metrics.set(definition.name, { Value: value, Timestamp: epochSeconds() });
          }
        },
      });
      if (!exit) return;
      const finalMetrics = [...metrics].map(([MetricName, metric]) => ({ MetricName, ...metric }));
      if (state.stopReason) {
        // SageMaker keeps what the algorithm saved in its SIGTERM window.
        const artifacts = (await listFiles(paths.model)).length > 0 ? await this.uploadModel(job, paths).catch(() => undefined) : undefined;
        const timeout = state.stopReason === 'timeout';
        this.finishTraining(name, TrainingJobStatus.STOPPED, timeout ? SecondaryStatus.MAX_RUNTIME_EXCEEDED : SecondaryStatus.STOPPED, {
          FailureReason: timeout ? maxRuntimeReason(job.StoppingCondition?.MaxRuntimeInSeconds) : undefined,
          ModelArtifacts: artifacts ? { S3ModelArtifacts: artifacts } : undefined,
          FinalMetricDataList: finalMetrics,
        });
      } else if (exit.code === 0) {
        this.update(this.training, name, (d) => transition(d, SecondaryStatus.UPLOADING, 'Uploading generated training model'));
        let artifacts: string;
        try {
          artifacts = await this.uploadModel(job, paths);
          if ((await listFiles(paths.outputData)).length > 0) {
            const tarball = join(paths.output, 'output.tar.gz');
            await tarGzDirectory(paths.outputData, tarball);
            await options.objects.putObject(outputUri(job, 'output.tar.gz'), await readFile(tarball));
          }
        } catch (error) {
          throw new JobFailure(`ClientError: Failed to upload the model artifacts: ${(error as Error).message}`);
        }
        this.finishTraining(name, TrainingJobStatus.COMPLETED, SecondaryStatus.COMPLETED, { ModelArtifacts: { S3ModelArtifacts: artifacts }, FinalMetricDataList: finalMetrics });
      } else {
        this.finishTraining(name, TrainingJobStatus.FAILED, SecondaryStatus.FAILED, { FailureReason: await failureReason(dir, exit, 'training'), FinalMetricDataList: finalMetrics });
      }
    } catch (error) {
      if (this.shuttingDown) return;
      const reason = error instanceof JobFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      if (state.stopReason) this.finishTraining(name, TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED, { FailureReason: reason });
      else this.finishTraining(name, TrainingJobStatus.FAILED, SecondaryStatus.FAILED, { FailureReason: reason });
    }
    await this.publish('training', name);
  }

  private async uploadModel(job: TrainingDescribe, paths: TrainingPaths): Promise<string> {
    const tarball = join(paths.output, 'model.tar.gz');
    await tarGzDirectory(paths.model, tarball);
    const uri = outputUri(job, 'model.tar.gz');
    await this.deps.options.objects.putObject(uri, await readFile(tarball));
    return uri;
  }

  private finishTraining(name: string, status: TrainingJobStatus, secondary: SecondaryStatus, fields: Partial<TrainingDescribe>): void {
    const now = epochSeconds();
    this.update(this.training, name, (d) => {
      transition(d, secondary, fields.FailureReason ?? secondaryMessage(secondary), now);
      const seconds = Math.max(1, Math.round(now - (d.TrainingStartTime ?? now)));
      Object.assign(d, { TrainingJobStatus: status, TrainingEndTime: now, LastModifiedTime: now, TrainingTimeInSeconds: seconds, BillableTimeInSeconds: seconds });
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(d, { [key]: value });
    });
  }

  // ---- shared job lifecycle ----

  private async stopJob(kind: JobKind, name: string): Promise<Record<string, never>> {
    const store = kind === 'processing' ? this.processing : this.training;
    const record = store.get(nameKey(name));
    if (!record) throw new AwsServiceError('ResourceNotFound', `Could not find requested job with name ${name}`);
    const status = kind === 'processing' ? (record.describe as ProcessingDescribe).ProcessingJobStatus : (record.describe as TrainingDescribe).TrainingJobStatus;
    if (status === ProcessingJobStatus.STOPPING) return {};
    if (status !== ProcessingJobStatus.IN_PROGRESS) throw validationError(`The request was rejected because the ${kind} job is in status ${status}.`);
    const now = epochSeconds();
    if (kind === 'processing') {
      this.update(this.processing, name, (d) => Object.assign(d, { ProcessingJobStatus: ProcessingJobStatus.STOPPING, LastModifiedTime: now }));
    } else {
      this.update(this.training, name, (d) => {
        transition(d, SecondaryStatus.STOPPING, 'Stopping the training job', now);
        Object.assign(d, { TrainingJobStatus: TrainingJobStatus.STOPPING, LastModifiedTime: now });
      });
    }
    this.requestStop(`${kind}:${nameKey(name)}`, 'stop');
    return {};
  }

  /** Starts `run` in the background; its promise is kept so shutdown can wait for it. */
  private launch(kind: JobKind, name: string, run: () => Promise<void>): void {
    const task: Promise<void> = run()
      .catch((error: unknown) => this.deps.ctx.log('sagemaker: job controller failed', { kind, name, error: (error as Error).message }))
      .finally(() => {
        this.tasks.delete(task);
        const key = `${kind}:${nameKey(name)}`;
        for (const timer of this.running.get(key)?.timers ?? []) clearTimeout(timer);
        this.running.delete(key);
      });
    this.tasks.add(task);
  }

  /** Registers a running job and arms its MaxRuntimeInSeconds timer. */
  private track(kind: JobKind, name: string, maxRuntimeSeconds = DEFAULT_MAX_RUNTIME_SECONDS): RunningJob {
    const key = `${kind}:${nameKey(name)}`;
    const state: RunningJob = { timers: [] };
    this.running.set(key, state);
    state.timers.push(setTimeout(() => this.requestStop(key, 'timeout'), maxRuntimeSeconds * 1000));
    return state;
  }

  /** SIGTERM to the job's container now, SIGKILL after the stop grace (SageMaker's stop). */
  private requestStop(key: string, reason: 'stop' | 'timeout'): void {
    const state = this.running.get(key);
    if (!state || state.stopReason) return;
    state.stopReason = reason;
    void state.child?.stop();
  }

  /**
   * Runs the container (in the service's sandbox) to its end. Returns undefined when there is
   * nothing to record: the runtime is shutting down (the record stays InProgress for recover()).
   * A stop requested before the process started returns a synthetic exit and never starts it.
   */
  private async execute(kind: JobKind, name: string, state: RunningJob, container: ContainerLaunch & { onLine?: (line: string) => void }): Promise<ProcessExit | undefined> {
    if (this.shuttingDown) return undefined;
    if (state.stopReason) return { code: null, signal: 'SIGTERM', stderrTail: '' };
    const logFile = join(this.deps.ctx.dataDir, 'logs', kind === 'processing' ? 'ProcessingJobs' : 'TrainingJobs', `${name}.log`);
    const child = this.deps.containers.launch(`${kind}-job.${nameKey(name)}`, { ...container, logFile });
    state.child = child;
    const exit = await child.done;
    if (this.shuttingDown) return undefined;
    if (exit.spawnError) throw new JobFailure(`ClientError: could not start ${container.command[0] ?? '(empty command)'}: ${exit.spawnError.message}`);
    return exit;
  }

  private async resolve(imageUri: string, purpose: 'processing' | 'training', arn: string) {
    try {
      return await this.deps.options.resolveImage({ imageUri, purpose, tags: tagMap(this.deps.tags.get(arn)) });
    } catch (error) {
      throw new JobFailure(`ClientError: image ${imageUri} has no local command: ${(error as Error).message}`);
    }
  }

  private jobDirectory(name: string): string {
    return join(this.deps.ctx.dataDir, 'jobs', name);
  }

  private update<D>(store: JsonStore<JobRecord<D>>, name: string, change: (describe: D) => void): void {
    const record = store.get(nameKey(name));
    if (!record) return;
    change(record.describe);
    store.put(nameKey(name), record);
  }

  private async publish(kind: JobKind, name: string): Promise<void> {
    if (kind === 'processing') {
      const d = this.processing.get(nameKey(name))!.describe;
      await publishSageMakerEvent(this.deps.ctx, DETAIL_TYPE_PROCESSING, d.ProcessingJobArn!, eventDetail(d, this.deps.tags.get(d.ProcessingJobArn!)));
    } else {
      const d = this.training.get(nameKey(name))!.describe;
      await publishSageMakerEvent(this.deps.ctx, DETAIL_TYPE_TRAINING, d.TrainingJobArn!, eventDetail(d, this.deps.tags.get(d.TrainingJobArn!)));
    }
  }
}

/** A failure with a SageMaker-style FailureReason (ClientError: …, AlgorithmError: …). */
class JobFailure extends Error {
  override readonly name = 'JobFailure';
}

function jobExists(arn: string): AwsServiceError {
  return new AwsServiceError('ResourceInUse', `Job name must be unique within an AWS account and region, and a job with this name already exists (${arn})`);
}

function requireProcessingPath(path: unknown, field: string): void {
  if (typeof path !== 'string' || !/^\/opt\/ml\/processing\/[^\0]+$/.test(path) || path.split('/').includes('..')) {
    throw validationError(`${field} must be an absolute path under /opt/ml/processing/`);
  }
}

/** A metric regex as JavaScript reads it: Python's named groups `(?P<name>…)` become `(?<name>…)`. Throws ValidationException if it does not compile. */
function compileMetric(definition: Partial<MetricDefinition>): RegExp {
  if (typeof definition.Name !== 'string' || definition.Name === '' || typeof definition.Regex !== 'string' || definition.Regex === '') {
    throw validationError('AlgorithmSpecification.MetricDefinitions entries need a Name and a Regex');
  }
  try {
    return new RegExp(definition.Regex.replace(/\(\?P</g, '(?<'));
  } catch (error) {
    throw validationError(`MetricDefinitions ${definition.Name}: invalid Regex: ${(error as Error).message}`);
  }
}

/** `<S3OutputPath>/<job>/output/<file>`, where SageMaker puts model.tar.gz and output.tar.gz. */
function outputUri(job: TrainingDescribe, file: string): string {
  return `${job.OutputDataConfig!.S3OutputPath!.replace(/\/+$/, '')}/${job.TrainingJobName}/output/${file}`;
}

/** Closes the current secondary status and opens `status`. */
function transition(d: TrainingDescribe, status: SecondaryStatus, message: string, now = epochSeconds()): void {
  const transitions = d.SecondaryStatusTransitions ?? [];
  const last = transitions.at(-1);
  if (last && last.EndTime === undefined) last.EndTime = now;
  transitions.push({ Status: status, StartTime: now, StatusMessage: message });
  d.SecondaryStatusTransitions = transitions;
  d.SecondaryStatus = status;
  d.LastModifiedTime = now;
}

function secondaryMessage(status: SecondaryStatus): string {
  switch (status) {
    case SecondaryStatus.COMPLETED:
      return 'Training job completed';
    case SecondaryStatus.STOPPED:
      return 'Training job stopped';
    default:
      return String(status);
  }
}

function maxRuntimeReason(seconds: number | undefined): string {
  return `MaxRuntimeExceeded: the job ran longer than StoppingCondition.MaxRuntimeInSeconds (${seconds ?? DEFAULT_MAX_RUNTIME_SECONDS} s) and was stopped`;
}

/**
 * FailureReason of a job whose container exited non-zero: the container's own account in
 * /opt/ml/output/failure when it wrote one, else the exit status and the tail of its stderr.
 */
async function failureReason(dir: string, exit: ProcessExit, kind: JobKind): Promise<string> {
  const failureFile = join(dir, 'output', 'failure');
  if (existsSync(failureFile)) {
    const text = (await readFile(failureFile, 'utf8')).trim();
    if (text) return `AlgorithmError: ${text.slice(0, FAILURE_REASON_LIMIT)}`;
  }
  const status = exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
  const tail = exit.stderrTail.trim();
  return `AlgorithmError: the ${kind} container exited with ${status}${tail ? `. stderr (last ${Buffer.byteLength(tail)} bytes):\n${tail}` : ''}`;
}
