import { CodeCommitClient, GetBlobCommand, GetFileCommand, GetFolderCommand } from '@aws-sdk/client-codecommit';
import { HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import type { handler as onSourcePushHandler } from '../../../functions/on-source-push';
import { RetryableError } from '../../../shared/errors';
import { buildExecutionName } from '../../../shared/naming';
import { BUCKET, EXAMPLE_CONFIG_TEXT, loadSample, STATE_MACHINE_ARN } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

const codecommit = mockClient(CodeCommitClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq';

let handler: typeof onSourcePushHandler;

beforeAll(async () => {
  process.env.MODEL_BUILD_STATE_MACHINE_ARN = STATE_MACHINE_ARN;
  process.env.ARTIFACTS_BUCKET = BUCKET;
  process.env.ALLOWED_INSTANCE_TYPES = 'ml.m5.xlarge,ml.m5.large';
  process.env.MAX_RUNTIME_SECONDS = '7200';
  process.env.MAX_SOURCE_BYTES = '1000000';
  // The real samples push to myRepo / MyDemoRepo on branch myBranch.
  process.env.TRIGGER_REPOSITORIES = 'myRepo,MyDemoRepo';
  process.env.TRIGGER_BRANCHES = 'main,my*';
  process.env.DEAD_LETTER_QUEUE_URL = QUEUE_URL;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/on-source-push'));
});

beforeEach(() => {
  codecommit.reset();
  s3.reset();
  sfn.reset();
  sqs.reset();
  codecommit.on(GetFileCommand).resolves({ fileContent: new TextEncoder().encode(EXAMPLE_CONFIG_TEXT) });
  codecommit.on(GetFolderCommand).resolves({ folderPath: '/', files: [{ absolutePath: 'mlops.yaml', relativePath: 'mlops.yaml', blobId: 'blob-mlops', fileMode: 'NORMAL' }] });
  codecommit.on(GetBlobCommand).resolves({ content: new TextEncoder().encode(EXAMPLE_CONFIG_TEXT) });
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
  s3.on(PutObjectCommand).resolves({});
  sfn.on(StartExecutionCommand).callsFake(async (input: { name?: string }) => ({
    executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: new Date(),
  }));
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

/** The one message sent to the dead-letter queue, decoded. */
function deadLetter(): { source: string; reason: string; input: unknown } {
  const calls = sqs.commandCalls(SendMessageCommand);
  expect(calls).toHaveLength(1);
  expect(calls[0]?.args[0].input.QueueUrl).toBe(QUEUE_URL);
  return JSON.parse(calls[0]?.args[0].input.MessageBody ?? 'null') as { source: string; reason: string; input: unknown };
}

describe('on-source-push handler', () => {
  it('starts one model build for a push to a configured branch', async () => {
    const outcome = await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    expect(outcome).toMatchObject({ action: 'started', configValid: true });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE_ARN, name: buildExecutionName('myRepo', '26a8f2EXAMPLE') });
  });

  it('starts a build for a newly created branch', async () => {
    await handler(loadSample('codecommit-reference-created.json'), lambdaContext());

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: buildExecutionName('MyDemoRepo', '3e5983DESTINATION') });
  });

  it('applies the stage limits from the environment to the execution input', async () => {
    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? 'null') as { build: { taskTimeoutSeconds: number; sourceUri: string } };
    expect(input.build.taskTimeoutSeconds).toBe(7200 + 3600);
    expect(input.build.sourceUri).toMatch(new RegExp(`^s3://${BUCKET}/builds/`));
  });

  it.each([
    ['a deleted branch', 'codecommit-reference-deleted.json'],
    ['a tag', 'codecommit-tag-created.json'],
  ])('ignores %s without starting anything or dead-lettering it', async (_what, sample) => {
    await expect(handler(loadSample(sample), lambdaContext())).resolves.toMatchObject({ action: 'ignored' });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('ignores a push to a branch that is not configured', async () => {
    const event = loadSample<{ detail: Record<string, unknown> }>('codecommit-reference-updated-push.json');
    event.detail.referenceName = 'experiment';
    event.detail.referenceFullName = 'refs/heads/experiment';

    await expect(handler(event, lambdaContext())).resolves.toEqual({ action: 'ignored', reason: 'branch experiment is not configured to build' });
  });

  describe('a malformed event (detail.repositoryName missing)', () => {
    function malformed(): Record<string, unknown> {
      const event = loadSample<{ detail: Record<string, unknown> }>('codecommit-reference-updated-push.json');
      delete event.detail.repositoryName;
      return event;
    }

    it('resolves instead of throwing, so Lambda does not retry it', async () => {
      await expect(handler(malformed(), lambdaContext())).resolves.toMatchObject({ rejected: true });
    });

    it('sends it to the dead-letter queue with a reason naming detail.repositoryName', async () => {
      const event = malformed();

      await handler(event, lambdaContext());

      const message = deadLetter();
      expect(message.source).toBe('on-source-push');
      expect(message.reason).toContain('detail.repositoryName');
      expect(message.input).toEqual(event);
    });

    it('reads nothing and starts nothing', async () => {
      await handler(malformed(), lambdaContext());

      expect(codecommit.calls()).toHaveLength(0);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    });
  });

  it('dead-letters an event of another detail-type, naming detail-type', async () => {
    await handler(loadSample('sagemaker-training-job-state-change.json'), lambdaContext());

    expect(deadLetter().reason).toContain('detail-type');
  });

  it('dead-letters a commit id that is not one, naming detail.commitId', async () => {
    const event = loadSample<{ detail: Record<string, unknown> }>('codecommit-reference-updated-push.json');
    event.detail.commitId = '26a8f2; rm -rf /';

    await handler(event, lambdaContext());

    expect(deadLetter().reason).toContain('detail.commitId');
  });

  it('throws RetryableError when CodeCommit throttles, without dead-lettering the event', async () => {
    codecommit.on(GetFileCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' }));

    await expect(handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext())).rejects.toThrow(RetryableError);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });
});
