import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { RuleSpec } from '../../../local/cloudformation/template';
import { createEventBridgeService } from '../../../local/eventbridge/service';
import { serviceContext } from '../../helpers/service-context';

/**
 * Local EventBridge delivering to an SNS target: the target's InputTransformer applied (reserved
 * variables naming the rule as its ARN on a custom bus, rule/<bus>/<rule>), the event itself when the
 * target has none, and the original event to the dead-letter queue when publishing fails.
 */

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:sluice-local-notifications';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:sluice-local-dead-letters';
const ENTRY = { Source: 'sluice', DetailType: 'Model Build Failed', Detail: { repository: 'abalone', step: 'Train' }, EventBusName: 'sluice-local' };

let dataDir: string;
let published: { arn: string; message: string }[];
let queued: { arn: string; body: string }[];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-eb-sns-'));
  published = [];
  queued = [];
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function service(target: RuleSpec['targets'][number], failPublish = false) {
  const rule: RuleSpec = { logicalId: 'NotificationRule', name: 'sluice-local-notifications', eventBusName: 'sluice-local', eventPattern: { source: ['sluice'] }, enabled: true, targets: [target] };
  return createEventBridgeService(serviceContext(dataDir), {
    rules: [rule],
    eventBuses: ['default', 'sluice-local'],
    targets: {
      invokeLambdaAsync: () => undefined,
      sendToQueue: async (arn, body) => {
        queued.push({ arn, body });
      },
      publishToTopic: async (arn, message) => {
        if (failPublish) throw new Error('NotFound: Topic does not exist');
        published.push({ arn, message });
      },
    },
  });
}

describe('an SNS target of a local rule', () => {
  it("publishes the target's transformed input", async () => {
    const events = service({
      id: 'notify',
      arn: TOPIC_ARN,
      inputTransformer: { InputPathsMap: { what: '$.detail-type', repository: '$.detail.repository' }, InputTemplate: '"<what> in <repository>"\n"rule <aws.events.rule-arn>"' },
    });

    await events.putEvent(ENTRY);

    expect(published).toEqual([{ arn: TOPIC_ARN, message: '"Model Build Failed in abalone"\n"rule arn:aws:events:us-east-1:123456789012:rule/sluice-local/sluice-local-notifications"' }]);
  });

  it('publishes the event as JSON when the target has no transformer', async () => {
    const events = service({ id: 'notify', arn: TOPIC_ARN });

    const event = await events.putEvent(ENTRY);

    expect(published).toHaveLength(1);
    expect(JSON.parse(published[0]!.message)).toEqual(event);
  });

  it('sends the original event to the dead-letter queue when publishing fails', async () => {
    const events = service({ id: 'notify', arn: TOPIC_ARN, deadLetterArn: DLQ_ARN, inputTransformer: { InputTemplate: '"x"' } }, true);

    const event = await events.putEvent(ENTRY);

    expect(queued).toHaveLength(1);
    expect(queued[0]!.arn).toBe(DLQ_ARN);
    expect(JSON.parse(queued[0]!.body)).toEqual(event);
  });
});
