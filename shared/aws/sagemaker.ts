import {
  CreateModelPackageCommand,
  type CreateModelPackageCommandInput,
  CreateModelPackageGroupCommand,
  CreateProcessingJobCommand,
  type CreateProcessingJobCommandInput,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
  DescribeModelPackageGroupCommand,
  DescribeProcessingJobCommand,
  type DescribeProcessingJobCommandOutput,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  SageMakerClient,
  type Tag,
} from '@aws-sdk/client-sagemaker';

import { classifyAwsError, isAwsError } from '../errors';

const client = new SageMakerClient({});

/** SageMaker reports "already exists" as ResourceInUse (jobs) or a ValidationException saying so (groups). */
function alreadyExists(error: unknown): boolean {
  return isAwsError(error, 'ResourceInUse') || (isAwsError(error, 'ValidationException') && /already exists/i.test((error as Error).message));
}

/** Creates a processing job. Idempotent: an existing job of that name counts as created. Throws RetryableError on throttling. */
export async function createProcessingJob(input: CreateProcessingJobCommandInput): Promise<void> {
  try {
    await client.send(new CreateProcessingJobCommand(input));
  } catch (error) {
    if (alreadyExists(error)) return;
    throw classifyAwsError(error, `CreateProcessingJob ${input.ProcessingJobName}`);
  }
}

/** Creates a training job. Idempotent: an existing job of that name counts as created. Throws RetryableError on throttling. */
export async function createTrainingJob(input: CreateTrainingJobCommandInput): Promise<void> {
  try {
    await client.send(new CreateTrainingJobCommand(input));
  } catch (error) {
    if (alreadyExists(error)) return;
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

/**
 * Makes sure the model package group exists (describe, then create). Idempotent, including the
 * race where two builds create it at once. Throws RetryableError on throttling.
 */
export async function ensureModelPackageGroup(name: string, description: string, tags: Tag[]): Promise<void> {
  try {
    await client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: name }));
    return;
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFound', 'ValidationException')) throw classifyAwsError(error, `DescribeModelPackageGroup ${name}`);
  }
  try {
    await client.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: name, ModelPackageGroupDescription: description, Tags: tags }));
  } catch (error) {
    if (alreadyExists(error)) return;
    throw classifyAwsError(error, `CreateModelPackageGroup ${name}`);
  }
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
