import 'aws-sdk-client-mock-jest';

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListModelPackagesCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as onModelPackageChangeHandler } from '../../../functions/on-model-package-change';
import { DEPLOY_STATE_MACHINE_ARN } from '../../helpers/deploy';
import { loadSample } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const events = mockClient(EventBridgeClient);

/** The group of the real AWS sample (version 2 of it, Rejected), as this stage names it: after `sluice-test--`. */
const SAMPLE_GROUP = 'versionedmp-p-idy6c3e1fiqj';
const GROUP = `sluice-test--${SAMPLE_GROUP}`;
const ARN = `arn:aws:sagemaker:us-east-2:123456789012:model-package/${GROUP}/2`;
const V1 = `arn:aws:sagemaker:us-east-2:123456789012:model-package/${GROUP}/1`;

/** The real sample, its group renamed into this stage's namespace. */
function stageSample(): PackageEvent {
  return JSON.parse(JSON.stringify(loadSample<PackageEvent>('sagemaker-model-package-state-change.json')).replaceAll(SAMPLE_GROUP, GROUP)) as PackageEvent;
}
const BUS = 'sluice-test';

interface PackageEvent {
  time: string;
  detail: Record<string, unknown>;
}

function approved(lastModified = '2021-02-24T17:00:14Z'): PackageEvent {
  const event = stageSample();
  event.detail.ModelApprovalStatus = 'Approved';
  event.detail.LastModifiedTime = lastModified;
  return event;
}

function live(stage: string, modelPackageArn: string) {
  return { Item: { pk: `live:${GROUP}-${stage}`, endpointName: `${GROUP}-${stage}`, stage, modelPackageArn, version: Number(modelPackageArn.split('/').at(-1)) } };
}

let handler: typeof onModelPackageChangeHandler;

beforeAll(async () => {
  process.env.MODEL_DEPLOY_STATE_MACHINE_ARN = DEPLOY_STATE_MACHINE_ARN;
  process.env.DEPLOYMENT_TABLE = 'sluice-test-deployments';
  process.env.EVENT_BUS_NAME = BUS;
  process.env.MODEL_PACKAGE_GROUP_PREFIX = 'sluice-test';
  process.env.DEAD_LETTER_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dead-letter';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/on-model-package-change'));
});

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  sqs.reset();
  dynamo.reset();
  events.reset();
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: `${DEPLOY_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date() }));
  dynamo.on(GetCommand).resolves({});
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

describe('on-model-package-change handler', () => {
  it('starts a deploy to staging then prod when a version is Approved', async () => {
    await expect(handler(approved(), lambdaContext())).resolves.toMatchObject({ action: 'deploy-started' });

    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe(DEPLOY_STATE_MACHINE_ARN);
    expect(input?.name).toMatch(new RegExp(`^${GROUP}-v2-[0-9a-f]{8}$`));
    expect(JSON.parse(input?.input ?? '{}')).toEqual({ modelPackageArn: ARN, mode: 'deploy', stages: ['staging', 'prod'], reason: 'v2 approved' });
  });

  it('starts one execution for a triplicated approval (same name; ExecutionAlreadyExists is success)', async () => {
    sfn.on(StartExecutionCommand).resolvesOnce({ executionArn: 'arn:first', startDate: new Date() }).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));

    const outcomes = [];
    for (let copy = 0; copy < 3; copy += 1) outcomes.push(await handler(approved(), lambdaContext()));

    const names = new Set(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name));
    expect(names.size).toBe(1);
    expect(outcomes.map((outcome) => (outcome as { action: string }).action)).toEqual(['deploy-started', 'deploy-already-started', 'deploy-already-started']);
  });

  it('starts a new run for a re-approval after a rejection (new LastModifiedTime)', async () => {
    await handler(approved('2021-02-24T17:00:14Z'), lambdaContext());
    await handler(approved('2021-02-25T09:30:00Z'), lambdaContext());

    const [first, second] = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name);
    expect(first).not.toBe(second);
  });

  it('rolls prod back to the newest other Approved version when the rejected version is live there', async () => {
    dynamo.on(GetCommand, { Key: { pk: `live:${GROUP}-prod` } }).resolves(live('prod', ARN));
    dynamo.on(GetCommand, { Key: { pk: `live:${GROUP}-staging` } }).resolves(live('staging', `arn:aws:sagemaker:us-east-2:123456789012:model-package/${GROUP}/3`));
    sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [{ ModelPackageArn: ARN, ModelPackageVersion: 2, CreationTime: new Date(), ModelPackageStatus: 'Completed' }, { ModelPackageArn: V1, ModelPackageVersion: 1, CreationTime: new Date(), ModelPackageStatus: 'Completed' }] });

    await expect(handler(stageSample(), lambdaContext())).resolves.toMatchObject({ action: 'rollback-started', stages: ['prod'], rollbackTo: V1 });

    expect(sagemaker).toHaveReceivedCommandWith(ListModelPackagesCommand, { ModelPackageGroupName: GROUP, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending' });
    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.name).toMatch(new RegExp(`^${GROUP}-rollback-v2-[0-9a-f]{8}$`));
    expect(JSON.parse(input?.input ?? '{}')).toEqual({ modelPackageArn: V1, mode: 'rollback', stages: ['prod'], reason: 'rollback: v2 rejected' });
  });

  it('publishes Model Deploy Failed and leaves capacity as is when no Approved version is left', async () => {
    dynamo.on(GetCommand, { Key: { pk: `live:${GROUP}-staging` } }).resolves(live('staging', ARN));
    sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });

    await expect(handler(stageSample(), lambdaContext())).resolves.toEqual({ action: 'no-version-left', stages: ['staging'] });

    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ EventBusName: BUS, Source: 'sluice', DetailType: 'Model Deploy Failed', Detail: JSON.stringify({ modelPackageArn: ARN, reason: 'no approved version left to roll back to', stages: ['staging'] }) })],
    });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('ignores a rejection of a version that is not live anywhere', async () => {
    await expect(handler(stageSample(), lambdaContext())).resolves.toMatchObject({ action: 'ignored' });

    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('ignores PendingManualApproval', async () => {
    const event = approved();
    event.detail.ModelApprovalStatus = 'PendingManualApproval';

    await expect(handler(event, lambdaContext())).resolves.toMatchObject({ action: 'ignored' });

    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('ignores a group of another stage', async () => {
    const event = approved();
    event.detail.ModelPackageGroupName = 'sluice-prod-abalone';

    await expect(handler(event, lambdaContext())).resolves.toMatchObject({ action: 'ignored' });
  });

  it('parks an unparseable event in the dead-letter queue', async () => {
    const event = approved();
    delete event.detail.ModelPackageArn;

    await expect(handler(event, lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { MessageBody: expect.stringContaining('detail.ModelPackageArn') });
  });
});
