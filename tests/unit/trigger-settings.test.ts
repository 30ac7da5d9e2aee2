import { join } from 'node:path';

import { ConfigurationError, loadTriggerSettings } from '../../shared/config';
import { ROOT } from '../helpers/fixtures';

type Resolver = (options: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<string>;

/** events/stage-params.js's scheduleJson, run as the Serverless Framework runs it, on a `schedules` value. */
async function scheduleJson(schedules: unknown): Promise<string> {
  const params = (await import(join(ROOT, 'events', 'stage-params.js'))) as { scheduleJson: Resolver };
  return params.scheduleJson({ resolveVariable: async (name) => (name === 'param:schedules' ? schedules : undefined) });
}

describe('the stage schedules setting', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    Object.assign(process.env, { TRIGGER_TABLE: 'sluice-test-triggers', SCHEDULE_RULE_PREFIX: 'sluice-test--schedule-', BUILD_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-onSourcePush' });
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reaches on-source-push as JSON, from a YAML map or JSON text, and as nothing when empty', async () => {
    await expect(scheduleJson({ abalone: 'rate(1 day)' })).resolves.toBe('{"abalone":"rate(1 day)"}');
    await expect(scheduleJson('{"abalone-*":"cron(0 6 ? * MON-FRI *)"}')).resolves.toBe('{"abalone-*":"cron(0 6 ? * MON-FRI *)"}');
    await expect(scheduleJson({})).resolves.toBe('');
    await expect(scheduleJson('')).resolves.toBe('');
    await expect(scheduleJson(['rate(1 day)'])).rejects.toThrow('stage parameter schedules must map repositories to schedule expressions');
  });

  it('is read by on-source-push, frozen', () => {
    process.env.STAGE_SCHEDULES = '{"abalone":"rate(1 day)"}';

    const settings = loadTriggerSettings();

    expect(settings.stageSchedules).toEqual({ abalone: 'rate(1 day)' });
    expect(Object.isFrozen(settings.stageSchedules)).toBe(true);
  });

  it('fails the cold start naming the repository whose schedule EventBridge would refuse', () => {
    process.env.STAGE_SCHEDULES = '{"abalone":"rate(1 days)"}';

    expect(() => loadTriggerSettings()).toThrow(ConfigurationError);
    expect(() => loadTriggerSettings()).toThrow('STAGE_SCHEDULES: stage setting schedules.abalone: "rate(1 days)" is not an EventBridge schedule');
  });

  it('fails the cold start when it is not a JSON object', () => {
    process.env.STAGE_SCHEDULES = '["rate(1 day)"]';

    expect(() => loadTriggerSettings()).toThrow('STAGE_SCHEDULES: must be a JSON object of repository → schedule expression');
  });
});
