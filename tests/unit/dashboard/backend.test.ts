import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SageMakerClient, UpdateModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { cliBackend } from '../../../dashboard/backend';
import { localTarget, type Target } from '../../../cli/target';

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

    const approved = await cliBackend(localTarget(ENDPOINT)).approve('sluice-local--abalone/1', 'metrics look right');

    expect(approved).toBe(ARN);
    expect(sageMaker).toHaveReceivedCommandWith(UpdateModelPackageCommand, { ModelPackageArn: ARN, ModelApprovalStatus: 'Approved', ApprovalDescription: 'metrics look right' });
  });

  it('rejects through UpdateModelPackage', async () => {
    sageMaker.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: ARN });

    await cliBackend(localTarget(ENDPOINT)).reject(ARN);

    expect(sageMaker).toHaveReceivedCommandWith(UpdateModelPackageCommand, { ModelPackageArn: ARN, ModelApprovalStatus: 'Rejected' });
  });

  it("promotes with a Model Promotion Approved event on the target's bus, approved by the dashboard", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    const target: Target = { ...localTarget(ENDPOINT), names: { ...localTarget(ENDPOINT).names, eventBusName: 'sluice-dev' } };

    await cliBackend(target).promote('sluice-local--abalone/1');

    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [{ EventBusName: 'sluice-dev', Source: 'sluice', DetailType: 'Model Promotion Approved', Detail: JSON.stringify({ modelPackageArn: ARN, approvedBy: 'sluice dashboard' }) }],
    });
  });

  it('refuses a malformed reference before calling AWS', async () => {
    await expect(cliBackend(localTarget(ENDPOINT)).approve('abalone')).rejects.toThrow('expected an ARN');
    expect(sageMaker).not.toHaveReceivedAnyCommand();
  });

  it('names its target: the endpoint, or the deployed stack and region', () => {
    expect(cliBackend(localTarget(ENDPOINT)).target).toBe(ENDPOINT);
    const aws: Target = { ...localTarget(ENDPOINT), kind: 'aws', endpoint: undefined, stackName: 'sluice-prod', region: 'eu-west-1' };
    expect(cliBackend(aws).target).toBe('AWS sluice-prod (eu-west-1)');
  });
});
