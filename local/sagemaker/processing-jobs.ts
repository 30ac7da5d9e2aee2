import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type AppSpecification, type DescribeProcessingJobResponse, type ProcessingInput, type ProcessingOutputConfig, ProcessingJobStatus } from '@aws-sdk/client-sagemaker';

import { epochSeconds, type JsonOperations } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
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
  validationError,
} from './common';
import { CURRENT_HOST, rewritePath } from './contract';
import { acceptStop, ACTIVE_STATUSES, DEFAULT_MAX_RUNTIME_SECONDS, failureReason, JobFailure, jobExists, type JobRecord, type JobRunner, type JobsDependencies, maxRuntimeReason, updateJob } from './job-runner';
import { s3Error } from './object-store';
import { startContainerSession } from './role-session';
import type { Wire } from './types';

/**
 * Processing jobs: CreateProcessingJob, Describe, List and Stop, and the run of each job
 * (download the inputs to their LocalPaths, run the container, upload the outputs, record,
 * publish the state-change event).
 */

type ProcessingDescribe = Wire<DescribeProcessingJobResponse>;

/** EventBridge detail-type of the processing job events (source aws.sagemaker). */
export const DETAIL_TYPE_PROCESSING = 'SageMaker Processing Job State Change';

export class ProcessingJobs {
  private readonly store: JsonStore<JobRecord<ProcessingDescribe>>;

  constructor(
    private readonly deps: JobsDependencies,
    private readonly runner: JobRunner,
  ) {
    this.store = new JsonStore(join(deps.ctx.dataDir, 'processing-jobs'));
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return {
      CreateProcessingJob: async (input) => this.createProcessingJob(input),
      DescribeProcessingJob: async (input) => this.describeProcessing(requireName(input, 'ProcessingJobName')),
      ListProcessingJobs: async (input) => this.listProcessingJobs(input),
      StopProcessingJob: async (input) => this.stopJob(requireName(input, 'ProcessingJobName')),
    };
  }

  /** Whether a job of this name exists. */
  has(name: string): boolean {
    return this.store.get(nameKey(name)) !== undefined;
  }

  /** Boot: a job the previous runtime left InProgress runs again from the beginning (RESTART_MESSAGE); one left Stopping ends Stopped, with its event. */
  async recover(): Promise<void> {
    for (const { value } of this.store.list()) {
      if (!ACTIVE_STATUSES.includes(value.describe.ProcessingJobStatus ?? '')) continue;
      const name = value.describe.ProcessingJobName!;
      if (value.describe.ProcessingJobStatus === ProcessingJobStatus.STOPPING) {
        this.finishProcessing(name, ProcessingJobStatus.STOPPED);
        await this.publish(name);
        continue;
      }
      this.update(name, (d) => Object.assign(d, { LastModifiedTime: epochSeconds() }));
      this.runner.launch('processing', name, () => this.runProcessing(name));
    }
  }

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
    if (this.store.get(nameKey(name))) throw jobExists(arn);
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
    this.store.put(nameKey(name), { describe });
    this.deps.tags.put(arn, tags);
    this.runner.launch('processing', name, () => this.runProcessing(name));
    return { ProcessingJobArn: arn };
  }

  private describeProcessing(name: string): ProcessingDescribe {
    const record = this.store.get(nameKey(name));
    if (!record) throw validationError(`Could not find requested job with name ${name}`);
    return record.describe;
  }

  private listProcessingJobs(input: Record<string, unknown>): unknown {
    const jobs = this.store.list().map(({ value }) => value.describe);
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
    const record = this.store.get(nameKey(name))!;
    const job = record.describe;
    const dir = this.runner.jobDirectory(name);
    const state = this.runner.track('processing', name, job.StoppingCondition?.MaxRuntimeInSeconds);
    this.update(name, (d) => {
      d.ProcessingStartTime = epochSeconds();
    });
    await this.publish(name);
    const session = startContainerSession(ctx, options, job.RoleArn);
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dir, 'config'), { recursive: true });
      await writeFile(join(dir, 'config', 'processingjobconfig.json'), JSON.stringify(job, null, 2));
      await writeFile(join(dir, 'config', 'resourceconfig.json'), JSON.stringify({ current_host: CURRENT_HOST, hosts: [CURRENT_HOST] }));
      for (const item of job.ProcessingInputs ?? []) {
        const s3 = item.S3Input!;
        try {
          await session.objects.download(s3.S3Uri!, rewritePath(s3.LocalPath!, dir));
        } catch (error) {
          throw new JobFailure(`ClientError: Failed to download data for input ${item.InputName}: ${s3Error(error)}`);
        }
      }
      for (const output of job.ProcessingOutputConfig?.Outputs ?? []) await mkdir(rewritePath(output.S3Output!.LocalPath!, dir), { recursive: true });
      const image = await this.runner.resolve(job.AppSpecification!.ImageUri!, 'processing', job.ProcessingJobArn!);
      const exit = await this.runner.execute('processing', name, state, {
        command: [...(job.AppSpecification?.ContainerEntrypoint ?? image.command), ...(job.AppSpecification?.ContainerArguments ?? [])],
        env: { ...session.env, ...image.env, ...job.Environment },
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
            await session.objects.upload(rewritePath(output.S3Output!.LocalPath!, dir), output.S3Output!.S3Uri!);
          } catch (error) {
            throw new JobFailure(`ClientError: Failed to upload output ${output.OutputName}: ${s3Error(error)}`);
          }
        }
        this.finishProcessing(name, ProcessingJobStatus.COMPLETED);
      } else {
        this.finishProcessing(name, ProcessingJobStatus.FAILED, await failureReason(dir, exit, 'processing'));
      }
    } catch (error) {
      if (this.runner.shuttingDown) return;
      const reason = error instanceof JobFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      this.finishProcessing(name, state.stopReason ? ProcessingJobStatus.STOPPED : ProcessingJobStatus.FAILED, reason);
    } finally {
      session.end();
    }
    await this.publish(name);
  }

  private finishProcessing(name: string, status: ProcessingJobStatus, reason?: string): void {
    const now = epochSeconds();
    this.update(name, (d) => {
      Object.assign(d, { ProcessingJobStatus: status, ProcessingEndTime: now, LastModifiedTime: now });
      if (reason !== undefined) d.FailureReason = reason;
    });
  }

  private async stopJob(name: string): Promise<Record<string, never>> {
    if (!acceptStop('processing', name, this.store.get(nameKey(name))?.describe.ProcessingJobStatus)) return {};
    const now = epochSeconds();
    this.update(name, (d) => Object.assign(d, { ProcessingJobStatus: ProcessingJobStatus.STOPPING, LastModifiedTime: now }));
    this.runner.requestStop('processing', name, 'stop');
    return {};
  }

  private update(name: string, change: (describe: ProcessingDescribe) => void): void {
    updateJob(this.store, name, change);
  }

  private async publish(name: string): Promise<void> {
    const d = this.store.get(nameKey(name))!.describe;
    await publishSageMakerEvent(this.deps.ctx, DETAIL_TYPE_PROCESSING, d.ProcessingJobArn!, eventDetail(d, this.deps.tags.get(d.ProcessingJobArn!)));
  }
}

function requireProcessingPath(path: unknown, field: string): void {
  if (typeof path !== 'string' || !/^\/opt\/ml\/processing\/[^\0]+$/.test(path) || path.split('/').includes('..')) {
    throw validationError(`${field} must be an absolute path under /opt/ml/processing/`);
  }
}
