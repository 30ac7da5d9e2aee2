import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { renderInputTransformer } from '../../../local/eventbridge/rules';
import { createEventBridgeService, type EventBridgeService } from '../../../local/eventbridge/service';
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
      targets: { invokeLambdaAsync: (arn, payload) => invoked.push({ arn, payload }), sendToQueue: async () => undefined },
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

describe('InputTransformer rendering', () => {
  const event = { id: 'e-1', time: '2026-12-04T16:05:00Z', detail: { name: 'a "quoted" name', count: 3, tags: ['x'] } };

  it('puts a string value inside a JSON string as its text, escaped, and other values as JSON', () => {
    expect(renderInputTransformer({ InputPathsMap: { name: '$.detail.name', count: '$.detail.count', tags: '$.detail.tags' }, InputTemplate: '{"text":"name: <name>","count":<count>,"tags":<tags>,"first":"<missing>"}' }, event, 'arn:aws:events:us-east-1:1:rule/r')).toEqual({
      text: 'name: a "quoted" name',
      count: 3,
      tags: ['x'],
      first: '<missing>',
    });
  });

  it('delivers a template that is not JSON as text', () => {
    expect(renderInputTransformer({ InputPathsMap: { id: '$.id' }, InputTemplate: 'event <id> at <aws.events.event.ingestion-time>' }, event, 'arn:aws:events:us-east-1:1:rule/r')).toBe('event "e-1" at "2026-12-04T16:05:00Z"');
  });
});
