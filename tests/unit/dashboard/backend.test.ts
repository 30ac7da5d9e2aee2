import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SageMakerClient, UpdateModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { cliBackend } from '../../../dashboard/backend';

const ENDPOINT = 'http://127.0.0.1:4799';
const ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-local--abalone/1';

const sageMaker = mockClient(SageMakerClient);
const eventBridge = mockClient(EventBridgeClient);

beforeEach(() => {
  sageMaker.reset();
  eventBridge.reset();
});

describe('cliBackend', () => {
  it('approves through UpdateModelPackage with the note as the approval description', async () => {
    sageMaker.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: ARN });

    const approved = await cliBackend(ENDPOINT, { bus: 'sluice-local' }).approve('sluice-local--abalone/1', 'metrics look right');

    expect(approved).toBe(ARN);
    expect(sageMaker).toHaveReceivedCommandWith(UpdateModelPackageCommand, { ModelPackageArn: ARN, ModelApprovalStatus: 'Approved', ApprovalDescription: 'metrics look right' });
  });

  it('rejects through UpdateModelPackage', async () => {
    sageMaker.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: ARN });

    await cliBackend(ENDPOINT, { bus: 'sluice-local' }).reject(ARN);

    expect(sageMaker).toHaveReceivedCommandWith(UpdateModelPackageCommand, { ModelPackageArn: ARN, ModelApprovalStatus: 'Rejected' });
  });

  it('promotes with a Model Promotion Approved event on the bus it was given, approved by the dashboard', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });

    await cliBackend(ENDPOINT, { bus: 'sluice-dev' }).promote('sluice-local--abalone/1');

    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [{ EventBusName: 'sluice-dev', Source: 'sluice', DetailType: 'Model Promotion Approved', Detail: JSON.stringify({ modelPackageArn: ARN, approvedBy: 'sluice dashboard' }) }],
    });
  });

  it('refuses a malformed reference before calling AWS', async () => {
    await expect(cliBackend(ENDPOINT, { bus: 'sluice-local' }).approve('abalone')).rejects.toThrow('expected an ARN');
    expect(sageMaker).not.toHaveReceivedAnyCommand();
  });

  it('names its target: the endpoint, or AWS', () => {
    expect(cliBackend(ENDPOINT, { bus: 'b' }).target).toBe(ENDPOINT);
    expect(cliBackend(undefined, { bus: 'b' }).target).toBe('AWS');
  });
});
