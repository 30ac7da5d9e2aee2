import 'aws-sdk-client-mock-jest';

import {
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  ProcessingJobStatus,
  SageMakerClient,
  SageMakerServiceException,
  StopProcessingJobCommand,
  StopTrainingJobCommand,
  TrainingJobStatus,
} from '@aws-sdk/client-sagemaker';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { JobToken } from '../../../shared/aws/dynamodb';
import { RetryableError } from '../../../shared/errors';
import { stopRunJobs } from '../../../shared/pipeline/jobs';
import { type FakeTable, fakeTable, TOKEN_TABLE } from '../../helpers/step-tasks';

const sagemaker = mockClient(SageMakerClient);
const dynamo = mockClient(DynamoDBDocumentClient);

const RUN = 'arn:aws:states:us-east-1:123456789012:execution:sluice-test-build-abalone-age-1a2b3c4d:abalone-age-run-1';
const OTHER_RUN = 'arn:aws:states:us-east-1:123456789012:execution:sluice-test-build-abalone-age-1a2b3c4d:abalone-age-run-2';

let tokens: FakeTable;

function park(jobName: string, kind: JobToken['kind'], executionArn = RUN): void {
  tokens.items.set(jobName, { jobName, kind, taskToken: `token-${jobName}`, executionArn, step: jobName, createdAt: 1, expiresAt: 2 });
}

function training(name: string, status: TrainingJobStatus): void {
  sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: name }).resolves({ TrainingJobName: name, TrainingJobStatus: status });
}

beforeEach(() => {
  sagemaker.reset();
  dynamo.reset();
  tokens = fakeTable(dynamo, TOKEN_TABLE, 'jobName');
  sagemaker.on(StopTrainingJobCommand).resolves({});
  sagemaker.on(StopProcessingJobCommand).resolves({});
});

describe('stopRunJobs', () => {
  it('stops the run\'s training and processing jobs that are still in progress', async () => {
    park('train-xgboost', 'training');
    park('evaluate', 'processing');
    training('train-xgboost', TrainingJobStatus.IN_PROGRESS);
    sagemaker.on(DescribeProcessingJobCommand, { ProcessingJobName: 'evaluate' }).resolves({ ProcessingJobName: 'evaluate', ProcessingJobStatus: ProcessingJobStatus.IN_PROGRESS });

    await expect(stopRunJobs(RUN, TOKEN_TABLE)).resolves.toEqual({ stopped: ['train-xgboost', 'evaluate'] });

    expect(sagemaker).toHaveReceivedCommandWith(StopTrainingJobCommand, { TrainingJobName: 'train-xgboost' });
    expect(sagemaker).toHaveReceivedCommandWith(StopProcessingJobCommand, { ProcessingJobName: 'evaluate' });
  });

  it('leaves other runs\' jobs, jobs that already ended or are stopping, and endpoint records alone', async () => {
    park('other-run-train', 'training', OTHER_RUN);
    park('done-train', 'training');
    park('stopping-train', 'training');
    park('endpoint:sluice-test-abalone-staging', 'endpoint');
    training('other-run-train', TrainingJobStatus.IN_PROGRESS);
    training('done-train', TrainingJobStatus.COMPLETED);
    training('stopping-train', TrainingJobStatus.STOPPING);

    await expect(stopRunJobs(RUN, TOKEN_TABLE)).resolves.toEqual({ stopped: [] });

    expect(sagemaker).not.toHaveReceivedCommand(StopTrainingJobCommand);
    expect(sagemaker).not.toHaveReceivedCommand(StopProcessingJobCommand);
  });

  it('counts a job SageMaker says is no longer running as stopped already (a second copy of the event)', async () => {
    park('train', 'training');
    training('train', TrainingJobStatus.IN_PROGRESS);
    sagemaker.on(StopTrainingJobCommand).rejects(new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: 'The request was rejected because the training job is in status Stopping.', $metadata: {} }));

    await expect(stopRunJobs(RUN, TOKEN_TABLE)).resolves.toEqual({ stopped: ['train'] });
  });

  it('rejects with RetryableError when stopping is throttled, so the event is retried', async () => {
    park('train', 'training');
    training('train', TrainingJobStatus.IN_PROGRESS);
    sagemaker.on(StopTrainingJobCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));

    await expect(stopRunJobs(RUN, TOKEN_TABLE)).rejects.toThrow(RetryableError);
  });
});
