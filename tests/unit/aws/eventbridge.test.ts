import 'aws-sdk-client-mock-jest';

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';

import { publishEvent } from '../../../shared/aws/eventbridge';
import { RetryableError } from '../../../shared/errors';

const events = mockClient(EventBridgeClient);

beforeEach(() => {
  events.reset();
});

describe('publishEvent', () => {
  it('puts one sluice event on the bus with the detail as JSON', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    await publishEvent('sluice-test', 'Model Deploy Failed', { reason: 'x' }, ['arn:r']);

    expect(events).toHaveReceivedCommandWith(PutEventsCommand, { Entries: [{ EventBusName: 'sluice-test', Source: 'sluice', DetailType: 'Model Deploy Failed', Detail: '{"reason":"x"}', Resources: ['arn:r'] }] });
  });

  it('throws RetryableError naming the error code when the entry is rejected (FailedEntryCount > 0)', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] });

    await expect(publishEvent('sluice-test', 'Model Deploy Failed', {})).rejects.toThrow(RetryableError);
    await expect(publishEvent('sluice-test', 'Model Deploy Failed', {})).rejects.toThrow(/ThrottlingException: slow down/);
  });
});
