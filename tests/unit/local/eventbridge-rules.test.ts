import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { targetPayload } from '../../../local/eventbridge/rules';
import { createEventBridgeService, type EventBridgeEvent, type EventBridgeService } from '../../../local/eventbridge/service';
import { serviceContext } from '../../helpers/service-context';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:sluice-local-onSourcePush';
const TRANSFORMER = {
  InputPathsMap: { id: '$.id', time: '$.time' },
  InputTemplate: '{"detail-type":"Model Build Requested","time":<time>,"detail":{"repository":"abalone","requestId":"schedule-<id>","rule":"<aws.events.rule-name>"}}',
};

describe('local EventBridge rules created at run time', () => {
  let dir: string;
  let invoked: { arn: string; payload: unknown }[];
  const service = (): EventBridgeService =>
    createEventBridgeService(serviceContext(dir), {
      rules: [],
      eventBuses: ['default', 'sluice-local'],
      targets: { invokeLambdaAsync: (arn, payload) => invoked.push({ arn, payload }), sendToQueue: async () => undefined, publishToTopic: async () => undefined },
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventbridge-rules-'));
    invoked = [];
  });
  afterEach(() => {
    jest.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires a cron rule at its time with the target\'s transformed input, and again after a restart', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-04T16:00:30Z') });
    const first = service();
    first.start();
    await first.operations.PutRule!({ Name: 'sluice-local--schedule-abalone', ScheduleExpression: 'cron(*/5 * * * ? *)' });
    await first.operations.PutTargets!({ Rule: 'sluice-local--schedule-abalone', Targets: [{ Id: 'build', Arn: FUNCTION_ARN, InputTransformer: TRANSFORMER }] });

    await jest.advanceTimersByTimeAsync(4 * 60_000);
    expect(invoked).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(31_000);
    expect(invoked).toHaveLength(1);
    const payload = invoked[0]!.payload as { time: string; detail: { requestId: string; rule: string } };
    expect(invoked[0]!.arn).toBe(FUNCTION_ARN);
    expect(payload.time).toBe('2026-12-04T16:05:00Z');
    expect(payload.detail.requestId).toMatch(/^schedule-[0-9a-f-]{36}$/);
    expect(payload.detail.rule).toBe('sluice-local--schedule-abalone');
    first.stop();

    const second = service();
    second.start();
    await jest.advanceTimersByTimeAsync(5 * 60_000);
    expect(invoked).toHaveLength(2);
    second.stop();
  });

  it('stops firing a rule once its targets are removed and it is deleted', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-04T16:00:00Z') });
    const events = service();
    events.start();
    await events.operations.PutRule!({ Name: 'r', ScheduleExpression: 'rate(1 minute)' });
    await events.operations.PutTargets!({ Rule: 'r', Targets: [{ Id: 't', Arn: FUNCTION_ARN }] });
    await expect(events.operations.DeleteRule!({ Name: 'r' })).rejects.toThrow("Rule can't be deleted since it has targets.");
    await events.operations.RemoveTargets!({ Rule: 'r', Ids: ['t'] });
    await events.operations.DeleteRule!({ Name: 'r' });
    await jest.advanceTimersByTimeAsync(3 * 60_000);
    expect(invoked).toHaveLength(0);
    await expect(events.operations.DescribeRule!({ Name: 'r' })).rejects.toThrow('Rule r does not exist on EventBus default.');
    events.stop();
  });

  it('refuses what EventBridge refuses: a bad schedule, a schedule on a custom bus, two kinds of input', async () => {
    const events = service();
    await expect(events.operations.PutRule!({ Name: 'r', ScheduleExpression: 'cron(0 10 * * * *)' })).rejects.toThrow('Parameter ScheduleExpression is not valid.');
    await expect(events.operations.PutRule!({ Name: 'r', ScheduleExpression: 'rate(1 day)', EventBusName: 'sluice-local' })).rejects.toThrow('only on the default event bus');
    await expect(events.operations.PutTargets!({ Rule: 'missing', Targets: [{ Id: 't', Arn: FUNCTION_ARN }] })).rejects.toThrow('Rule missing does not exist');
    await events.operations.PutRule!({ Name: 'r', ScheduleExpression: 'rate(1 day)' });
    const result = await events.operations.PutTargets!({ Rule: 'r', Targets: [{ Id: 't', Arn: FUNCTION_ARN, Input: '{}', InputPath: '$.detail' }] });
    expect(result).toMatchObject({ FailedEntryCount: 1, FailedEntries: [{ TargetId: 't', ErrorCode: 'ValidationException' }] });
  });

  it('delivers pattern rules created at run time, and lists and describes them', async () => {
    const events = service();
    await events.operations.PutRule!({ Name: 'p', EventPattern: JSON.stringify({ source: ['custom'] }), EventBusName: 'sluice-local' });
    await events.operations.PutTargets!({ Rule: 'p', EventBusName: 'sluice-local', Targets: [{ Id: 't', Arn: FUNCTION_ARN, InputPath: '$.detail' }] });
    await events.operations.PutEvents!({ Entries: [{ Source: 'custom', DetailType: 'x', Detail: '{"a":1}', EventBusName: 'sluice-local' }, { Source: 'other', DetailType: 'x', Detail: '{"a":2}', EventBusName: 'sluice-local' }] });
    expect(invoked).toEqual([{ arn: FUNCTION_ARN, payload: { a: 1 } }]);
    await expect(events.operations.ListRules!({ EventBusName: 'sluice-local', NamePrefix: 'p' })).resolves.toMatchObject({ Rules: [{ Name: 'p', Arn: 'arn:aws:events:us-east-1:123456789012:rule/sluice-local/p', State: 'ENABLED' }] });
    await expect(events.operations.ListTargetsByRule!({ Rule: 'p', EventBusName: 'sluice-local' })).resolves.toEqual({ Targets: [{ Id: 't', Arn: FUNCTION_ARN, InputPath: '$.detail' }] });
  });
});

describe('targetPayload', () => {
  const event: EventBridgeEvent = { version: '0', id: 'e-1', 'detail-type': 'x', source: 'custom', account: '123456789012', time: '2026-12-04T16:05:00Z', region: 'us-east-1', resources: [], detail: { name: 'abalone', count: 3, tags: ['x'] } };
  const context = { ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/r', ruleName: 'r' };

  it('gives a Lambda target the transformer\'s rendering as an object when it reads as JSON', () => {
    const target = { id: 't', arn: FUNCTION_ARN, inputTransformer: { InputPathsMap: { name: '$.detail.name', count: '$.detail.count', tags: '$.detail.tags' }, InputTemplate: '{"text":"name: <name>","count":<count>,"tags":<tags>,"rule":"<aws.events.rule-name>"}' } };

    expect(targetPayload(target, event, context)).toEqual({ text: 'name: abalone', count: 3, tags: ['x'], rule: 'r' });
  });

  it('delivers a rendering that is not JSON as text', () => {
    const target = { id: 't', arn: FUNCTION_ARN, inputTransformer: { InputPathsMap: { id: '$.id' }, InputTemplate: 'event <id> at <aws.events.event.ingestion-time>' } };

    expect(targetPayload(target, event, context)).toBe('event "e-1" at "2026-12-04T16:05:00Z"');
  });

  it('gives the constant Input, the InputPath part, or else the event', () => {
    expect(targetPayload({ id: 't', arn: FUNCTION_ARN, input: '{"repository":"abalone"}' }, event, context)).toEqual({ repository: 'abalone' });
    expect(targetPayload({ id: 't', arn: FUNCTION_ARN, inputPath: '$.detail.tags' }, event, context)).toEqual(['x']);
    expect(targetPayload({ id: 't', arn: FUNCTION_ARN }, event, context)).toBe(event);
  });
});
