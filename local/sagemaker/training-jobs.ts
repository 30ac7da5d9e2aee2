import { readFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type Channel, type DescribeTrainingJobResponse, type MetricDefinition, SecondaryStatus, TrainingJobStatus } from '@aws-sdk/client-sagemaker';

import { epochSeconds, type JsonOperations } from '../http/aws-json';
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
  type Tag,
  validationError,
} from './common';
import { CURRENT_HOST, trainingEnvironment, type TrainingPaths, trainingPaths } from './contract';
import { acceptStop, ACTIVE_STATUSES, DEFAULT_MAX_RUNTIME_SECONDS, failureReason, JobFailure, jobExists, type JobRecord, type JobRunner, type JobsDependencies, maxRuntimeReason, RESTART_MESSAGE, updateJob } from './job-runner';
import { s3Error } from './object-store';
import { startContainerSession } from './role-session';
import { CONTAINER_ML_DIR } from './sandbox';
import type { ObjectStore, Wire } from './types';

/**
 * Training jobs: CreateTrainingJob, Describe, List and Stop, and the run of each job (download
 * the channels, write the training toolkit's config files, run `train`, collect the
 * MetricDefinitions, upload model.tar.gz and output.tar.gz, record, publish the event).
 */

/** A training job's record: DescribeTrainingJob's answer as it travels on the wire. */
export type TrainingDescribe = Wire<DescribeTrainingJobResponse>;

/** EventBridge detail-type of the training job events (source aws.sagemaker). */
export const DETAIL_TYPE_TRAINING = 'SageMaker Training Job State Change';

/**
 * Who hears about a training job's progress besides its events (the tuning jobs, about the
 * training jobs they launched): every value a MetricDefinitions regex reads from its output, and
 * its end, once its record is final and its event published.
 */
export interface TrainingObserver {
  metricReported(job: TrainingDescribe, metricName: string, value: number): void;
  trainingEnded(job: TrainingDescribe): void;
}

export class TrainingJobs {
  private readonly store: JsonStore<JobRecord<TrainingDescribe>>;

  constructor(
    private readonly deps: JobsDependencies,
    private readonly runner: JobRunner,
    private readonly observer?: TrainingObserver,
  ) {
    this.store = new JsonStore(join(deps.ctx.dataDir, 'training-jobs'));
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return {
      CreateTrainingJob: async (input) => this.createTrainingJob(input),
      DescribeTrainingJob: async (input) => this.describeTraining(requireName(input, 'TrainingJobName')),
      ListTrainingJobs: async (input) => this.listTrainingJobs(input),
      StopTrainingJob: async (input) => this.stopJob(requireName(input, 'TrainingJobName')),
    };
  }

  /** Whether a job of this name exists. */
  has(name: string): boolean {
    return this.store.get(nameKey(name)) !== undefined;
  }

  /** The job's record, undefined when there is none. */
  find(name: string): TrainingDescribe | undefined {
    return this.store.get(nameKey(name))?.describe;
  }

  /** Throws the ValidationException CreateTrainingJob would answer `input` with; creates nothing. */
  validate(input: Record<string, unknown>): void {
    this.parseRequest(input);
  }

  /**
   * CreateTrainingJob for a job a tuning job launches: the same checks and run as any training
   * job, with `TuningJobArn` in its record. Throws as CreateTrainingJob does.
   */
  createForTuningJob(input: Record<string, unknown>, tuningJobArn: string): void {
    this.createTrainingJob(input, tuningJobArn);
  }

  /** StopTrainingJob's rules and effect (ResourceNotFound, already Stopping: nothing, not InProgress: ValidationException). */
  stop(name: string): void {
    this.stopJob(name);
  }

  /** Boot: a job the previous runtime left InProgress runs again from the beginning (RESTART_MESSAGE); one left Stopping ends Stopped, with its event. */
  async recover(): Promise<void> {
    for (const { value } of this.store.list()) {
      if (!ACTIVE_STATUSES.includes(value.describe.TrainingJobStatus ?? '')) continue;
      const name = value.describe.TrainingJobName!;
      if (value.describe.TrainingJobStatus === TrainingJobStatus.STOPPING) {
        this.finishTraining(name, TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED, {});
        await this.ended(name);
        continue;
      }
      const now = epochSeconds();
      this.update(name, (d) => {
        transition(d, SecondaryStatus.STARTING, RESTART_MESSAGE, now);
        d.LastModifiedTime = now;
      });
      this.runner.launch('training', name, () => this.runTraining(name));
    }
  }

  private createTrainingJob(input: Record<string, unknown>, tuningJobArn?: string): { TrainingJobArn: string } {
    const { describe, tags } = this.parseRequest(input);
    const name = describe.TrainingJobName!;
    const arn = describe.TrainingJobArn!;
    if (this.store.get(nameKey(name))) throw jobExists(arn);
    this.store.put(nameKey(name), { describe: tuningJobArn ? { ...describe, TuningJobArn: tuningJobArn } : describe });
    this.deps.tags.put(arn, tags);
    this.runner.launch('training', name, () => this.runTraining(name));
    return { TrainingJobArn: arn };
  }

  /** The record a valid CreateTrainingJob request makes; throws ValidationException naming the field otherwise. */
  private parseRequest(input: Record<string, unknown>): { describe: TrainingDescribe; tags: Tag[] } {
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
    return { describe, tags };
  }

  private describeTraining(name: string): TrainingDescribe {
    const record = this.store.get(nameKey(name));
    // DescribeTrainingJob answers an unknown name this way on AWS.
    if (!record) throw validationError('Requested resource not found.');
    return record.describe;
  }

  private listTrainingJobs(input: Record<string, unknown>): unknown {
    const jobs = this.store.list().map(({ value }) => value.describe);
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
    const job = this.store.get(nameKey(name))!.describe;
    const dir = this.runner.jobDirectory(name);
    const state = this.runner.track('training', name, job.StoppingCondition?.MaxRuntimeInSeconds);
    const metrics = new Map<string, { Value: number; Timestamp: number }>();
    const definitions = (job.AlgorithmSpecification?.MetricDefinitions ?? []).map((definition) => ({ name: definition.Name!, regex: compileMetric(definition) }));
    const startedAt = epochSeconds();
    this.update(name, (d) => {
      d.TrainingStartTime = startedAt;
      transition(d, SecondaryStatus.DOWNLOADING, 'Downloading input data', startedAt);
    });
    await this.publish(name);
    const paths = trainingPaths(dir);
    const session = startContainerSession(ctx, options, job.RoleArn);
    try {
      await rm(dir, { recursive: true, force: true });
      for (const path of [paths.config, paths.model, paths.outputData, paths.code]) await mkdir(path, { recursive: true });
      const channels = job.InputDataConfig ?? [];
      for (const channel of channels) {
        try {
          await session.objects.download(channel.DataSource!.S3DataSource!.S3Uri!, join(paths.data, channel.ChannelName!));
        } catch (error) {
          throw new JobFailure(`ClientError: Failed to download data for channel ${channel.ChannelName}: ${s3Error(error)}`);
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
      const image = await this.runner.resolve(job.AlgorithmSpecification!.TrainingImage!, 'training', job.TrainingJobArn!);
      const entrypoint = job.AlgorithmSpecification?.ContainerEntrypoint;
      this.update(name, (d) => transition(d, SecondaryStatus.TRAINING, 'Training image download completed. Training in progress.'));
      const exit = await this.runner.execute('training', name, state, {
        command: entrypoint ? [...entrypoint, ...(job.AlgorithmSpecification?.ContainerArguments ?? [])] : [...image.command, 'train'],
        env: {
          ...session.env,
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
            if (!Number.isFinite(value)) continue;
            metrics.set(definition.name, { Value: value, Timestamp: epochSeconds() });
            this.observer?.metricReported(job, definition.name, value);
          }
        },
      });
      if (!exit) return;
      const finalMetrics = [...metrics].map(([MetricName, metric]) => ({ MetricName, ...metric }));
      if (state.stopReason) {
        // SageMaker keeps what the algorithm saved in its SIGTERM window.
        const artifacts = (await listFiles(paths.model)).length > 0 ? await this.uploadModel(job, paths, session.objects).catch(() => undefined) : undefined;
        const timeout = state.stopReason === 'timeout';
        this.finishTraining(name, TrainingJobStatus.STOPPED, timeout ? SecondaryStatus.MAX_RUNTIME_EXCEEDED : SecondaryStatus.STOPPED, {
          FailureReason: timeout ? maxRuntimeReason(job.StoppingCondition?.MaxRuntimeInSeconds) : undefined,
          ModelArtifacts: artifacts ? { S3ModelArtifacts: artifacts } : undefined,
          FinalMetricDataList: finalMetrics,
        });
      } else if (exit.code === 0) {
        this.update(name, (d) => transition(d, SecondaryStatus.UPLOADING, 'Uploading generated training model'));
        let artifacts: string;
        try {
          artifacts = await this.uploadModel(job, paths, session.objects);
          if ((await listFiles(paths.outputData)).length > 0) {
            const tarball = join(paths.output, 'output.tar.gz');
            await tarGzDirectory(paths.outputData, tarball);
            await session.objects.putObject(outputUri(job, 'output.tar.gz'), await readFile(tarball));
          }
        } catch (error) {
          throw new JobFailure(`ClientError: Failed to upload the model artifacts: ${s3Error(error)}`);
        }
        this.finishTraining(name, TrainingJobStatus.COMPLETED, SecondaryStatus.COMPLETED, { ModelArtifacts: { S3ModelArtifacts: artifacts }, FinalMetricDataList: finalMetrics });
      } else {
        this.finishTraining(name, TrainingJobStatus.FAILED, SecondaryStatus.FAILED, { FailureReason: await failureReason(dir, exit, 'training'), FinalMetricDataList: finalMetrics });
      }
    } catch (error) {
      if (this.runner.shuttingDown) return;
      const reason = error instanceof JobFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      if (state.stopReason) this.finishTraining(name, TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED, { FailureReason: reason });
      else this.finishTraining(name, TrainingJobStatus.FAILED, SecondaryStatus.FAILED, { FailureReason: reason });
    } finally {
      session.end();
    }
    await this.ended(name);
  }

  /** Publishes the job's final state-change event, then tells the observer. */
  private async ended(name: string): Promise<void> {
    await this.publish(name);
    this.observer?.trainingEnded(this.store.get(nameKey(name))!.describe);
  }

  private async uploadModel(job: TrainingDescribe, paths: TrainingPaths, objects: ObjectStore): Promise<string> {
    const tarball = join(paths.output, 'model.tar.gz');
    await tarGzDirectory(paths.model, tarball);
    const uri = outputUri(job, 'model.tar.gz');
    await objects.putObject(uri, await readFile(tarball));
    return uri;
  }

  private finishTraining(name: string, status: TrainingJobStatus, secondary: SecondaryStatus, fields: Partial<TrainingDescribe>): void {
    const now = epochSeconds();
    this.update(name, (d) => {
      transition(d, secondary, fields.FailureReason ?? secondaryMessage(secondary), now);
      const seconds = Math.max(1, Math.round(now - (d.TrainingStartTime ?? now)));
      Object.assign(d, { TrainingJobStatus: status, TrainingEndTime: now, LastModifiedTime: now, TrainingTimeInSeconds: seconds, BillableTimeInSeconds: seconds });
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(d, { [key]: value });
    });
  }

  private stopJob(name: string): Record<string, never> {
    if (!acceptStop('training', name, this.store.get(nameKey(name))?.describe.TrainingJobStatus)) return {};
    const now = epochSeconds();
    this.update(name, (d) => {
      transition(d, SecondaryStatus.STOPPING, 'Stopping the training job', now);
      Object.assign(d, { TrainingJobStatus: TrainingJobStatus.STOPPING, LastModifiedTime: now });
    });
    this.runner.requestStop('training', name, 'stop');
    return {};
  }

  private update(name: string, change: (describe: TrainingDescribe) => void): void {
    updateJob(this.store, name, change);
  }

  private async publish(name: string): Promise<void> {
    const d = this.store.get(nameKey(name))!.describe;
    await publishSageMakerEvent(this.deps.ctx, DETAIL_TYPE_TRAINING, d.TrainingJobArn!, eventDetail(d, this.deps.tags.get(d.TrainingJobArn!)));
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
