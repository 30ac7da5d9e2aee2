import {
  CreateEndpointCommand,
  type CreateEndpointCommandInput,
  CreateEndpointConfigCommand,
  type CreateEndpointConfigCommandInput,
  CreateModelCommand,
  type CreateModelCommandInput,
  CreateModelPackageCommand,
  type CreateModelPackageCommandInput,
  CreateModelPackageGroupCommand,
  CreateProcessingJobCommand,
  type CreateProcessingJobCommandInput,
  CreateHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
  CreateTransformJobCommand,
  type CreateTransformJobCommandInput,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeHyperParameterTuningJobCommand,
  type DescribeHyperParameterTuningJobCommandOutput,
  DescribeModelCommand,
  type DescribeModelCommandOutput,
  DescribeModelPackageCommand,
  type DescribeModelPackageCommandOutput,
  DescribeModelPackageGroupCommand,
  DescribeProcessingJobCommand,
  type DescribeProcessingJobCommandOutput,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  DescribeTransformJobCommand,
  type DescribeTransformJobCommandOutput,
  ListEndpointConfigsCommand,
  ListModelPackagesCommand,
  ListModelsCommand,
  ListTagsCommand,
  ModelApprovalStatus,
  SageMakerClient,
  StopHyperParameterTuningJobCommand,
  StopProcessingJobCommand,
  StopTrainingJobCommand,
  StopTransformJobCommand,
  type Tag,
  UpdateEndpointCommand,
  type UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';

import { classifyAwsError, isAwsError, SageMakerResourceLimitError } from '../errors';

// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ new SageMakerClient({});

/** SageMaker reports "already exists" as ResourceInUse (jobs) or a ValidationException saying so (groups). */
function alreadyExists(error: unknown): boolean {
  return isAwsError(error, 'ResourceInUse') || (isAwsError(error, 'ValidationException') && /already exist/i.test((error as Error).message));
}

/** SageMaker reports a missing model, endpoint config or endpoint as a ValidationException ("Could not find …"). */
function notFound(error: unknown): boolean {
  return isAwsError(error, 'ResourceNotFound') || (isAwsError(error, 'ValidationException') && /could not find|not found|does not exist/i.test((error as Error).message));
}

/** Creates a processing job. Idempotent: an existing job of that name counts as created. Throws RetryableError on throttling, SageMakerResourceLimitError on an account limit. */
export async function createProcessingJob(input: CreateProcessingJobCommandInput): Promise<void> {
  try {
    await client.send(new CreateProcessingJobCommand(input));
  } catch (error) {
    if (alreadyExists(error)) return;
    if (isAwsError(error, 'ResourceLimitExceeded')) throw new SageMakerResourceLimitError(`CreateProcessingJob ${input.ProcessingJobName}: ${(error as Error).message}`, { cause: error });
    throw classifyAwsError(error, `CreateProcessingJob ${input.ProcessingJobName}`);
  }
}

/** Creates a training job. Idempotent: an existing job of that name counts as created. Throws RetryableError on throttling, SageMakerResourceLimitError on an account limit. */
export async function createTrainingJob(input: CreateTrainingJobCommandInput): Promise<void> {
  try {
    await client.send(new CreateTrainingJobCommand(input));
  } catch (error) {
    if (alreadyExists(error)) return;
    if (isAwsError(error, 'ResourceLimitExceeded')) throw new SageMakerResourceLimitError(`CreateTrainingJob ${input.TrainingJobName}: ${(error as Error).message}`, { cause: error });
    throw classifyAwsError(error, `CreateTrainingJob ${input.TrainingJobName}`);
  }
}

/** Describes a processing job; undefined when it does not exist. Throws RetryableError on throttling. */
export async function describeProcessingJob(name: string): Promise<DescribeProcessingJobCommandOutput | undefined> {
  try {
    return await client.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }));
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFound') || (isAwsError(error, 'ValidationException') && /not found|does not exist|could not find/i.test((error as Error).message))) return undefined;
    throw classifyAwsError(error, `DescribeProcessingJob ${name}`);
  }
}

/** Describes a training job; undefined when it does not exist. Throws RetryableError on throttling. */
export async function describeTrainingJob(name: string): Promise<DescribeTrainingJobCommandOutput | undefined> {
  try {
    return await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFound') || (isAwsError(error, 'ValidationException') && /not found|does not exist/i.test((error as Error).message))) return undefined;
    throw classifyAwsError(error, `DescribeTrainingJob ${name}`);
  }
}

/** SageMaker's answer to stopping a job that is no longer running (Stopping, Stopped, Completed, Failed). */
function notRunning(error: unknown): boolean {
  return isAwsError(error, 'ValidationException') && /status|not in progress|already|cannot be stopped/i.test((error as Error).message);
}

/** Stops a training job. Idempotent: a job that no longer runs is left as it is. Throws RetryableError on throttling. */
export async function stopTrainingJob(name: string): Promise<void> {
  try {
    await client.send(new StopTrainingJobCommand({ TrainingJobName: name }));
  } catch (error) {
    if (notRunning(error)) return;
    throw classifyAwsError(error, `StopTrainingJob ${name}`);
  }
}

/** Stops a processing job. Idempotent: a job that no longer runs is left as it is. Throws RetryableError on throttling. */
export async function stopProcessingJob(name: string): Promise<void> {
  try {
    await client.send(new StopProcessingJobCommand({ ProcessingJobName: name }));
  } catch (error) {
    if (notRunning(error)) return;
    throw classifyAwsError(error, `StopProcessingJob ${name}`);
  }
}

/** Creates a hyperparameter tuning job. Idempotent: an existing job of that name counts as created. Throws RetryableError on throttling, SageMakerResourceLimitError on an account limit. */
export async function createHyperParameterTuningJob(input: CreateHyperParameterTuningJobCommandInput): Promise<void> {
  try {
    await client.send(new CreateHyperParameterTuningJobCommand(input));
  } catch (error) {
    if (alreadyExists(error)) return;
    if (isAwsError(error, 'ResourceLimitExceeded')) throw new SageMakerResourceLimitError(`CreateHyperParameterTuningJob ${input.HyperParameterTuningJobName}: ${(error as Error).message}`, { cause: error });
    throw classifyAwsError(error, `CreateHyperParameterTuningJob ${input.HyperParameterTuningJobName}`);
  }
}

/** Describes a hyperparameter tuning job; undefined when it does not exist. Throws RetryableError on throttling. Read-only. */
export async function describeHyperParameterTuningJob(name: string): Promise<DescribeHyperParameterTuningJobCommandOutput | undefined> {
  try {
    return await client.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
  } catch (error) {
    if (notFound(error)) return undefined;
    throw classifyAwsError(error, `DescribeHyperParameterTuningJob ${name}`);
  }
}

/** Stops a hyperparameter tuning job (and so its training jobs). Idempotent: a job that no longer runs is left as it is. Throws RetryableError on throttling. */
export async function stopHyperParameterTuningJob(name: string): Promise<void> {
  try {
    await client.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
  } catch (error) {
    if (notRunning(error)) return;
    throw classifyAwsError(error, `StopHyperParameterTuningJob ${name}`);
  }
}

/** Creates a transform job. Idempotent: an existing job of that name counts as created. Throws RetryableError on throttling, SageMakerResourceLimitError on an account limit. */
export async function createTransformJob(input: CreateTransformJobCommandInput): Promise<void> {
  try {
    await client.send(new CreateTransformJobCommand(input));
  } catch (error) {
    if (alreadyExists(error)) return;
    if (isAwsError(error, 'ResourceLimitExceeded')) throw new SageMakerResourceLimitError(`CreateTransformJob ${input.TransformJobName}: ${(error as Error).message}`, { cause: error });
    throw classifyAwsError(error, `CreateTransformJob ${input.TransformJobName}`);
  }
}

/** Describes a transform job; undefined when it does not exist. Throws RetryableError on throttling. Read-only. */
export async function describeTransformJob(name: string): Promise<DescribeTransformJobCommandOutput | undefined> {
  try {
    return await client.send(new DescribeTransformJobCommand({ TransformJobName: name }));
  } catch (error) {
    if (notFound(error)) return undefined;
    throw classifyAwsError(error, `DescribeTransformJob ${name}`);
  }
}

/** Stops a transform job. Idempotent: a job that no longer runs is left as it is. Throws RetryableError on throttling. */
export async function stopTransformJob(name: string): Promise<void> {
  try {
    await client.send(new StopTransformJobCommand({ TransformJobName: name }));
  } catch (error) {
    if (notRunning(error)) return;
    throw classifyAwsError(error, `StopTransformJob ${name}`);
  }
}

/** Describes a model; undefined when it does not exist. Throws RetryableError on throttling. Read-only. */
export async function describeModel(name: string): Promise<DescribeModelCommandOutput | undefined> {
  try {
    return await client.send(new DescribeModelCommand({ ModelName: name }));
  } catch (error) {
    if (notFound(error)) return undefined;
    throw classifyAwsError(error, `DescribeModel ${name}`);
  }
}

/**
 * Creates a model package group with its tags unless it exists. Returns the group's ARN and whether
 * this call created it. Idempotent: an existing group (or one created concurrently) is success.
 * Throws RetryableError on throttling.
 */
export async function ensureModelPackageGroup(name: string, description: string, tags: Tag[]): Promise<{ arn: string; created: boolean }> {
  const describe = async () => (await client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: name }))).ModelPackageGroupArn ?? '';
  try {
    return { arn: await describe(), created: false };
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFound', 'ValidationException')) throw classifyAwsError(error, `DescribeModelPackageGroup ${name}`);
  }
  try {
    const output = await client.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: name, ModelPackageGroupDescription: description, Tags: tags }));
    return { arn: output.ModelPackageGroupArn ?? '', created: true };
  } catch (error) {
    if (!alreadyExists(error)) throw classifyAwsError(error, `CreateModelPackageGroup ${name}`);
  }
  try {
    return { arn: await describe(), created: false };
  } catch (error) {
    throw classifyAwsError(error, `DescribeModelPackageGroup ${name}`);
  }
}

/** Every tag of a SageMaker resource (ListTags, all pages). Throws RetryableError on throttling. Read-only. */
export async function listTags(arn: string): Promise<Tag[]> {
  const tags: Tag[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await client.send(new ListTagsCommand({ ResourceArn: arn, NextToken: nextToken }));
      tags.push(...(page.Tags ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    throw classifyAwsError(error, `ListTags ${arn}`);
  }
  return tags;
}

/**
 * Creates a model package version. Idempotent through `ClientToken`: the same token returns the
 * version created the first time. Throws RetryableError on throttling.
 */
export async function createModelPackage(input: CreateModelPackageCommandInput): Promise<string> {
  try {
    const output = await client.send(new CreateModelPackageCommand(input));
    if (!output.ModelPackageArn) throw new Error('CreateModelPackage returned no ModelPackageArn');
    return output.ModelPackageArn;
  } catch (error) {
    throw classifyAwsError(error, `CreateModelPackage in ${input.ModelPackageGroupName}`);
  }
}

/** Describes a model package version; undefined when it does not exist. Throws RetryableError on throttling. Read-only. */
export async function describeModelPackage(arn: string): Promise<DescribeModelPackageCommandOutput | undefined> {
  try {
    return await client.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  } catch (error) {
    if (notFound(error)) return undefined;
    throw classifyAwsError(error, `DescribeModelPackage ${arn}`);
  }
}

/**
 * The newest Approved version of a group (by creation time) other than `excludeArn`; undefined
 * when there is none. Throws RetryableError on throttling. Read-only.
 */
export async function findLatestApprovedModelPackage(group: string, excludeArn: string): Promise<{ modelPackageArn: string; version: number | undefined } | undefined> {
  let nextToken: string | undefined;
  try {
    do {
      const output = await client.send(
        new ListModelPackagesCommand({ ModelPackageGroupName: group, ModelApprovalStatus: ModelApprovalStatus.APPROVED, SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 100, NextToken: nextToken }),
      );
      const found = (output.ModelPackageSummaryList ?? []).find((summary) => summary.ModelPackageArn && summary.ModelPackageArn !== excludeArn);
      if (found) return { modelPackageArn: found.ModelPackageArn!, version: found.ModelPackageVersion };
      nextToken = output.NextToken;
    } while (nextToken);
  } catch (error) {
    throw classifyAwsError(error, `ListModelPackages ${group}`);
  }
  return undefined;
}

/** Creates a model. Returns false when a model of that name already exists (idempotent). Throws RetryableError on throttling. */
export async function createModel(input: CreateModelCommandInput): Promise<boolean> {
  try {
    await client.send(new CreateModelCommand(input));
    return true;
  } catch (error) {
    if (alreadyExists(error)) return false;
    throw classifyAwsError(error, `CreateModel ${input.ModelName}`);
  }
}

/** Creates an endpoint config. Returns false when one of that name already exists (idempotent). Throws RetryableError on throttling. */
export async function createEndpointConfig(input: CreateEndpointConfigCommandInput): Promise<boolean> {
  try {
    await client.send(new CreateEndpointConfigCommand(input));
    return true;
  } catch (error) {
    if (alreadyExists(error)) return false;
    throw classifyAwsError(error, `CreateEndpointConfig ${input.EndpointConfigName}`);
  }
}

/** Describes an endpoint; undefined when it does not exist. Throws RetryableError on throttling. Read-only. */
export async function describeEndpoint(name: string): Promise<DescribeEndpointCommandOutput | undefined> {
  try {
    return await client.send(new DescribeEndpointCommand({ EndpointName: name }));
  } catch (error) {
    if (notFound(error)) return undefined;
    throw classifyAwsError(error, `DescribeEndpoint ${name}`);
  }
}

/** Creates an endpoint. Returns false when it already exists (idempotent). Throws RetryableError on throttling. */
export async function createEndpoint(input: CreateEndpointCommandInput): Promise<boolean> {
  try {
    await client.send(new CreateEndpointCommand(input));
    return true;
  } catch (error) {
    if (alreadyExists(error)) return false;
    throw classifyAwsError(error, `CreateEndpoint ${input.EndpointName}`);
  }
}

/**
 * Moves an endpoint onto another config (blue/green when DeploymentConfig says so). Not
 * idempotent by itself: the caller describes the endpoint first. Throws RetryableError on throttling.
 */
export async function updateEndpoint(input: UpdateEndpointCommandInput): Promise<void> {
  try {
    await client.send(new UpdateEndpointCommand(input));
  } catch (error) {
    throw classifyAwsError(error, `UpdateEndpoint ${input.EndpointName} -> ${input.EndpointConfigName}`);
  }
}

/** Deletes an endpoint (asynchronously: it goes Deleting). A missing endpoint is success. Throws RetryableError on throttling. */
export async function deleteEndpoint(name: string): Promise<void> {
  try {
    await client.send(new DeleteEndpointCommand({ EndpointName: name }));
  } catch (error) {
    if (notFound(error)) return;
    throw classifyAwsError(error, `DeleteEndpoint ${name}`);
  }
}

/** Names of the endpoint configs whose name starts with `prefix`. Throws RetryableError on throttling. Read-only. */
export async function listEndpointConfigNames(prefix: string): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const output = await client.send(new ListEndpointConfigsCommand({ NameContains: prefix, MaxResults: 100, NextToken: nextToken }));
      for (const config of output.EndpointConfigs ?? []) if (config.EndpointConfigName?.startsWith(prefix)) names.push(config.EndpointConfigName);
      nextToken = output.NextToken;
    } while (nextToken);
  } catch (error) {
    throw classifyAwsError(error, `ListEndpointConfigs ${prefix}`);
  }
  return names;
}

/** Names of the models whose name starts with `prefix`. Throws RetryableError on throttling. Read-only. */
export async function listModelNames(prefix: string): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const output = await client.send(new ListModelsCommand({ NameContains: prefix, MaxResults: 100, NextToken: nextToken }));
      for (const model of output.Models ?? []) if (model.ModelName?.startsWith(prefix)) names.push(model.ModelName);
      nextToken = output.NextToken;
    } while (nextToken);
  } catch (error) {
    throw classifyAwsError(error, `ListModels ${prefix}`);
  }
  return names;
}

/** Deletes an endpoint config; a missing one is success. Throws RetryableError on throttling. */
export async function deleteEndpointConfig(name: string): Promise<void> {
  try {
    await client.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name }));
  } catch (error) {
    if (notFound(error)) return;
    throw classifyAwsError(error, `DeleteEndpointConfig ${name}`);
  }
}

/** Deletes a model; a missing one is success. Throws RetryableError on throttling. */
export async function deleteModel(name: string): Promise<void> {
  try {
    await client.send(new DeleteModelCommand({ ModelName: name }));
  } catch (error) {
    if (notFound(error)) return;
    throw classifyAwsError(error, `DeleteModel ${name}`);
  }
}
