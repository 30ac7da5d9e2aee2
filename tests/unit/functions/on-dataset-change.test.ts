import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import type { handler as onDatasetChangeHandler } from '../../../functions/on-dataset-change';
import { RetryableError } from '../../../shared/errors';
import type { DatasetBuildInput } from '../../../shared/pipeline/triggers';
import { ACCOUNT, BUCKET, loadSample, REGION } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);

const TABLE = 'sluice-test-triggers';
const MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:sluice-test-dataset-build`;
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq';

let handler: typeof onDatasetChangeHandler;
/** The trigger table, in memory: `pk|sk` → item. */
let table: Map<string, Record<string, unknown>>;

beforeAll(async () => {
  Object.assign(process.env, {
    TRIGGER_TABLE: TABLE,
    ARTIFACTS_BUCKET: BUCKET,
    DATASET_DEBOUNCE_SECONDS: '300',
    DATASET_BUILD_STATE_MACHINE_ARN: MACHINE,
    DEAD_LETTER_QUEUE_URL: QUEUE_URL,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler } = await import('../../../functions/on-dataset-change'));
});

/** Records `repository@branch` as reading `paths` (what a push records). */
function reads(repository: string, branch: string, ...paths: string[]): void {
  const dataset = paths[0]!.split('/')[0]!;
  table.set(`dataset#${dataset}|${repository}/${branch}`, { pk: `dataset#${dataset}`, sk: `${repository}/${branch}`, repository, branch, paths });
}

beforeEach(() => {
  dynamo.reset();
  sfn.reset();
  sqs.reset();
  table = new Map();
  dynamo.on(QueryCommand).callsFake(async (input: { ExpressionAttributeValues: { ':pk': string } }) => ({
    Items: [...table.values()].filter((item) => item.pk === input.ExpressionAttributeValues[':pk']),
  }));
  // DynamoDB's conditional write, as the debounce window uses it.
  dynamo.on(PutCommand).callsFake(async (input: { Item: Record<string, unknown>; ExpressionAttributeValues?: Record<string, unknown> }) => {
    const key = `${String(input.Item.pk)}|${String(input.Item.sk)}`;
    const existing = table.get(key);
    const values = input.ExpressionAttributeValues ?? {};
    if (existing && !((existing.windowEndsAt as number) <= (values[':now'] as number) || existing.openedBy === values[':openedBy'])) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    }
    table.set(key, input.Item);
    return {};
  });
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn: string; name: string }) => ({ executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date() }));
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

/** AWS's Object Created sample, for `key` in the stage bucket, `seconds` after noon, with its own event id. */
function objectCreated(key: string, seconds = 0, id = `event-${key}-${seconds}`): Record<string, unknown> {
  const event = structuredClone(loadSample('s3-object-created.json')) as { id: string; time: string; detail: { bucket: { name: string }; object: { key: string } } };
  event.id = id;
  event.time = new Date(Date.UTC(2026, 11, 4, 12, 0, seconds)).toISOString().replace('.000Z', 'Z');
  event.detail.bucket.name = BUCKET;
  event.detail.object.key = key;
  return event;
}

function startedInputs(): DatasetBuildInput[] {
  return sfn.commandCalls(StartExecutionCommand).map((call) => JSON.parse(call.args[0].input.input!) as DatasetBuildInput);
}

describe('on-dataset-change', () => {
  it('starts one dataset-build run per repository branch that reads the dataset, each waiting out the window', async () => {
    reads('abalone', 'main', 'abalone/');
    reads('abalone-age', 'main', 'abalone/raw/');
    reads('other', 'main', 'other-data/');

    const outcome = await handler(objectCreated('datasets/abalone/raw/part-1.csv'), lambdaContext());

    expect(outcome).toEqual({ action: 'handled', started: ['abalone/main', 'abalone-age/main'], debounced: [] });
    expect(startedInputs()).toEqual([
      expect.objectContaining({ repository: 'abalone', branch: 'main', settleSeconds: 300, dataset: 'abalone', requestId: expect.stringMatching(/^data-[0-9a-f]{16}$/) }),
      expect.objectContaining({ repository: 'abalone-age', branch: 'main', settleSeconds: 300 }),
    ]);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: MACHINE, name: expect.stringMatching(/^abalone-data-[0-9a-f]{16}$/) });
  });

  it('debounces a burst: files landing inside the open window start nothing more', async () => {
    reads('abalone', 'main', 'abalone/');

    await handler(objectCreated('datasets/abalone/part-1.csv', 0), lambdaContext());
    const later = await handler(objectCreated('datasets/abalone/part-2.csv', 30), lambdaContext());
    await handler(objectCreated('datasets/abalone/part-3.csv', 299), lambdaContext());

    expect(later).toEqual({ action: 'handled', started: [], debounced: ['abalone/main'] });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('opens a new window (and a new build) for a file that lands after the window closed', async () => {
    reads('abalone', 'main', 'abalone/');

    await handler(objectCreated('datasets/abalone/part-1.csv', 0), lambdaContext());
    await handler(objectCreated('datasets/abalone/part-2.csv', 301), lambdaContext());

    const [first, second] = startedInputs();
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 2);
    expect(second!.requestId).not.toBe(first!.requestId);
  });

  it('is idempotent: a redelivered event starts the same named run again, which Step Functions takes as already started', async () => {
    reads('abalone', 'main', 'abalone/');
    const event = objectCreated('datasets/abalone/part-1.csv', 0);

    await handler(event, lambdaContext());
    await handler(structuredClone(event), lambdaContext());

    const names = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name);
    expect(names).toHaveLength(2);
    expect(names[1]).toBe(names[0]);
  });

  it('ignores objects that no reader reads, outside datasets/, or in another bucket', async () => {
    reads('abalone', 'main', 'abalone/train.csv');

    const otherFile = await handler(objectCreated('datasets/abalone/test.csv'), lambdaContext());
    const notADataset = await handler(objectCreated('builds/abalone/x/model.tar.gz'), lambdaContext());
    const otherBucket = objectCreated('datasets/abalone/train.csv') as { detail: { bucket: { name: string } } };
    otherBucket.detail.bucket.name = 'someone-elses-bucket';

    expect(otherFile).toEqual({ action: 'handled', started: [], debounced: [] });
    expect(notADataset).toMatchObject({ action: 'ignored' });
    await expect(handler(otherBucket, lambdaContext())).resolves.toMatchObject({ action: 'ignored', reason: expect.stringContaining('someone-elses-bucket') });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('dead-letters a malformed event, naming detail.object.key, and starts nothing', async () => {
    const event = objectCreated('datasets/abalone/part-1.csv') as { detail: { object: Record<string, unknown> } };
    delete event.detail.object.key;

    await handler(event, lambdaContext());

    const body = JSON.parse(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!) as { reason: string };
    expect(body.reason).toContain('detail.object.key');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('throws RetryableError when DynamoDB throttles, so the event is retried', async () => {
    reads('abalone', 'main', 'abalone/');
    dynamo.on(QueryCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $retryable: {} }));

    await expect(handler(objectCreated('datasets/abalone/part-1.csv'), lambdaContext())).rejects.toThrow(RetryableError);
  });
});
