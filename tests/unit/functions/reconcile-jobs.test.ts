import 'aws-sdk-client-mock-jest';

import { S3Client } from '@aws-sdk/client-s3';
import { DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as reconcileJobsHandler } from '../../../functions/reconcile-jobs';
import type { JobToken } from '../../../shared/aws/dynamodb';
import { EXECUTION_ARN } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';
import { CACHE_TABLE, fakeS3 } from '../../helpers/step-tasks';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

const TABLE = 'sluice-test-job-tokens';
const MODEL = 's3://sluice-test-artifacts/builds/x/Train/abalone-train-old/output/model.tar.gz';

let handler: typeof reconcileJobsHandler;

beforeAll(async () => {
  process.env.JOB_TOKEN_TABLE = TABLE;
  process.env.STEP_CACHE_TABLE = CACHE_TABLE;
  process.env.RECONCILE_MIN_AGE_SECONDS = '300';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/reconcile-jobs'));
});

function token(jobName: string, ageSeconds: number): JobToken {
  const createdAt = Math.floor(Date.now() / 1000) - ageSeconds;
  return { jobName, kind: 'training', taskToken: `token-of-${jobName}`, executionArn: EXECUTION_ARN, step: 'Train', createdAt, expiresAt: createdAt + 100_000 };
}

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  dynamo.reset();
  s3.reset();
  fakeS3(s3).put(MODEL, 'model.tar.gz bytes');
  dynamo.on(DeleteCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sagemaker.on(DescribeTrainingJobCommand).resolves({ TrainingJobStatus: 'Completed', ModelArtifacts: { S3ModelArtifacts: MODEL } });
});

describe('reconcile-jobs handler', () => {
  it('settles only tokens older than RECONCILE_MIN_AGE_SECONDS and reports the counts', async () => {
    const old = token('abalone-train-old', 900);
    const young = token('abalone-train-young', 60);
    dynamo.on(ScanCommand).resolves({ Items: [old, young] });
    dynamo.on(GetCommand, { Key: { jobName: old.jobName } }).resolves({ Item: old });
    dynamo.on(GetCommand, { Key: { jobName: young.jobName } }).resolves({ Item: young });

    await expect(handler({}, lambdaContext())).resolves.toEqual({ checked: 1, settled: 1, running: 0, abandoned: 0, stopped: 0, endpoints: { checked: 0, settled: 0, acted: 0, waiting: 0 } });

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: old.taskToken });
  });

  it('reads the tokens from the table named by JOB_TOKEN_TABLE', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [] });

    await expect(handler({}, lambdaContext())).resolves.toEqual({ checked: 0, settled: 0, running: 0, abandoned: 0, stopped: 0, endpoints: { checked: 0, settled: 0, acted: 0, waiting: 0 } });

    expect(dynamo).toHaveReceivedCommandWith(ScanCommand, { TableName: TABLE });
  });
});
