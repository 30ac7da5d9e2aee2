import { nextCronTime, nextFireTime } from '../../../local/eventbridge/schedule';
import { type CronSchedule, parseScheduleExpression, scheduleExpressionProblem } from '../../../shared/pipeline/schedule-expression';

function cron(expression: string): CronSchedule {
  const parsed = parseScheduleExpression(expression);
  if ('problem' in parsed || parsed.kind !== 'cron') throw new Error(`not a cron: ${expression}`);
  return parsed;
}

/** The next `count` fire times after `from`, as ISO strings. */
function fires(expression: string, from: string, count: number): string[] {
  const times: string[] = [];
  let after = new Date(from);
  for (let i = 0; i < count; i += 1) {
    const next = nextCronTime(cron(expression), after);
    if (!next) break;
    times.push(next.toISOString());
    after = next;
  }
  return times;
}

// 2026-12-04 is a Friday.
describe('AWS cron expressions, locally (the examples of EventBridge\'s "Cron expressions" table)', () => {
  it('cron(0 10 * * ? *) runs at 10:00 UTC every day', () => {
    expect(fires('cron(0 10 * * ? *)', '2026-12-04T10:00:00Z', 2)).toEqual(['2026-12-05T10:00:00.000Z', '2026-12-06T10:00:00.000Z']);
  });

  it('cron(15 12 * * ? *) runs at 12:15 UTC every day', () => {
    expect(fires('cron(15 12 * * ? *)', '2026-12-04T12:16:00Z', 1)).toEqual(['2026-12-05T12:15:00.000Z']);
  });

  it('cron(0 18 ? * MON-FRI *) runs at 18:00 on weekdays only', () => {
    expect(fires('cron(0 18 ? * MON-FRI *)', '2026-12-04T19:00:00Z', 2)).toEqual(['2026-12-07T18:00:00.000Z', '2026-12-08T18:00:00.000Z']);
  });

  it('cron(0 8 1 * ? *) runs at 08:00 on the first day of every month', () => {
    expect(fires('cron(0 8 1 * ? *)', '2026-12-04T00:00:00Z', 2)).toEqual(['2027-01-01T08:00:00.000Z', '2027-02-01T08:00:00.000Z']);
  });

  it('cron(0/15 * * * ? *) runs every 15 minutes', () => {
    expect(fires('cron(0/15 * * * ? *)', '2026-12-04T16:07:00Z', 3)).toEqual(['2026-12-04T16:15:00.000Z', '2026-12-04T16:30:00.000Z', '2026-12-04T16:45:00.000Z']);
  });

  it('cron(0/10 * ? * MON-FRI *) runs every 10 minutes on weekdays, not at the weekend', () => {
    expect(fires('cron(0/10 * ? * MON-FRI *)', '2026-12-04T23:55:00Z', 1)).toEqual(['2026-12-07T00:00:00.000Z']);
  });

  it('cron(0/5 8-17 ? * MON-FRI *) runs every 5 minutes between 08:00 and 17:55 on weekdays', () => {
    expect(fires('cron(0/5 8-17 ? * MON-FRI *)', '2026-12-04T17:50:00Z', 2)).toEqual(['2026-12-04T17:55:00.000Z', '2026-12-07T08:00:00.000Z']);
  });

  it('cron(0 9 ? * 2#1 *) runs at 09:00 on the first Monday of each month (AWS numbers days from SUN=1)', () => {
    expect(fires('cron(0 9 ? * 2#1 *)', '2026-12-04T00:00:00Z', 2)).toEqual(['2026-12-07T09:00:00.000Z', '2027-01-04T09:00:00.000Z']);
  });

  it('reads day-of-week numbers as AWS does: 1 is Sunday, 7 is Saturday', () => {
    expect(fires('cron(0 0 ? * 1 *)', '2026-12-04T00:00:00Z', 1)).toEqual(['2026-12-06T00:00:00.000Z']);
    expect(fires('cron(0 0 ? * 7 *)', '2026-12-04T00:00:00Z', 1)).toEqual(['2026-12-05T00:00:00.000Z']);
  });

  it('L in day-of-month is the last day of the month; 6L in day-of-week the last Friday', () => {
    expect(fires('cron(0 0 L * ? *)', '2027-02-01T00:00:00Z', 1)).toEqual(['2027-02-28T00:00:00.000Z']);
    expect(fires('cron(0 12 ? * 6L *)', '2026-12-01T00:00:00Z', 1)).toEqual(['2026-12-25T12:00:00.000Z']);
  });

  it('W is the weekday nearest the day, within the month', () => {
    // 2027-05-01 is a Saturday: the nearest weekday in May is Monday the 3rd, not Friday April 30.
    expect(fires('cron(0 0 1W * ? *)', '2027-04-15T00:00:00Z', 1)).toEqual(['2027-05-03T00:00:00.000Z']);
    // 2026-11-15 is a Sunday: Monday the 16th.
    expect(fires('cron(0 0 15W * ? *)', '2026-11-01T00:00:00Z', 1)).toEqual(['2026-11-16T00:00:00.000Z']);
    // The last day of January 2027 is a Sunday: LW is Friday the 29th.
    expect(fires('cron(0 0 LW * ? *)', '2027-01-01T00:00:00Z', 1)).toEqual(['2027-01-29T00:00:00.000Z']);
  });

  it('honours the Year field, and never fires after its last year', () => {
    expect(fires('cron(0 0 1 1 ? 2028-2029)', '2026-12-04T00:00:00Z', 3)).toEqual(['2028-01-01T00:00:00.000Z', '2029-01-01T00:00:00.000Z']);
    expect(nextCronTime(cron('cron(0 0 1 1 ? 2020)'), new Date('2026-12-04T00:00:00Z'))).toBeUndefined();
  });
});

describe('rate expressions, locally', () => {
  it('fires every period counted from the anchor (the rule\'s creation)', () => {
    const anchor = new Date('2026-12-04T16:00:30Z');
    expect(nextFireTime('rate(5 minutes)', new Date('2026-12-04T16:07:00Z'), anchor)?.toISOString()).toBe('2026-12-04T16:10:30.000Z');
    expect(nextFireTime('rate(1 day)', anchor, anchor)?.toISOString()).toBe('2026-12-05T16:00:30.000Z');
  });
});

describe('schedule expression checks', () => {
  it.each([
    ['rate(1 minutes)', 'singular'],
    ['rate(5 minute)', 'singular'],
    ['rate(0 minutes)', 'positive'],
    ['rate(5 weeks)', 'must be rate'],
    ['cron(0 10 * * *)', 'has 6 fields'],
    ['cron(0 10 * * * *)', 'exactly one of Day-of-month and Day-of-week'],
    ['cron(0 10 ? * ? *)', 'exactly one of Day-of-month and Day-of-week'],
    ['cron(60 10 * * ? *)', 'Minutes: "60" is outside 0-59'],
    ['cron(0 24 * * ? *)', 'Hours'],
    ['cron(0 10 ? * 8 *)', 'Day-of-week'],
    ['cron(0 10 ? * MON#6 *)', 'Day-of-week'],
    ['cron(0 10 32 * ? *)', 'Day-of-month'],
    ['cron(0 10 * 13 ? *)', 'Month'],
    ['cron(0 10 * * ? 1969)', 'Year'],
    ['cron(0 10 ? * MON,? *)', 'stands alone'],
    ['cron(0/0 10 * * ? *)', 'step'],
  ])('refuses %s (%s)', (expression, problem) => {
    expect(scheduleExpressionProblem(expression)).toContain(problem);
  });

  it.each(['rate(1 minute)', 'rate(12 hours)', 'rate(7 days)', 'cron(0 10 * * ? *)', 'cron(0/5 8-17 ? * MON-FRI *)', 'cron(0 9 ? * 2#1 *)', 'cron(0 0 LW * ? *)', 'cron(0 0 ? * 6L 2027-2030)', 'cron(0 12 1 JAN,JUL ? *)'])('accepts %s', (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeUndefined();
  });
});
