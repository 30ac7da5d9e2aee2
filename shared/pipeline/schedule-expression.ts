/**
 * EventBridge schedule expressions, checked as EventBridge checks a rule's ScheduleExpression:
 * `rate(<value> <unit>)` (minute/minutes, hour/hours, day/days; singular exactly when the value is 1)
 * and the six-field `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, UTC, with `?`, `L`,
 * `W` and `#` where AWS allows them and exactly one of the day fields `?`.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 * No dependency: on-source-push checks mlops.yaml's schedule without bundling a cron engine (the
 * local runtime, which fires schedules, has one: local/eventbridge/schedule.ts). Pure.
 */

/** A parsed rate: every `ms` milliseconds. */
export interface RateSchedule {
  kind: 'rate';
  ms: number;
}

/** A parsed cron: its six fields as written. */
export interface CronSchedule {
  kind: 'cron';
  minutes: string;
  hours: string;
  dayOfMonth: string;
  month: string;
  dayOfWeek: string;
  year: string;
}

export type ParsedSchedule = RateSchedule | CronSchedule;

const UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Extra forms the field accepts (`?`, `L`, `W`, `#`). */
  special?: RegExp;
}

const FIELDS: FieldRule[] = [
  { name: 'Minutes', min: 0, max: 59 },
  { name: 'Hours', min: 0, max: 23 },
  { name: 'Day-of-month', min: 1, max: 31, special: /^(\?|L|LW|([1-9]|[12]\d|3[01])W)$/ },
  { name: 'Month', min: 1, max: 12, names: MONTHS },
  { name: 'Day-of-week', min: 1, max: 7, names: DAYS, special: /^(\?|L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5]))$/ },
  { name: 'Year', min: 1970, max: 2199 },
];

/** Why one comma-separated item of a field is wrong, or undefined. */
function itemProblem(item: string, rule: FieldRule): string | undefined {
  if (rule.special?.test(item)) return undefined;
  const value = (text: string): number | undefined => {
    const index = rule.names?.indexOf(text) ?? -1;
    if (index >= 0) return index + rule.min;
    return /^\d+$/.test(text) ? Number(text) : undefined;
  };
  const [range = '', step, extra] = item.split('/');
  if (extra !== undefined || (step !== undefined && !/^[1-9]\d*$/.test(step))) return `"${item}" has a malformed step`;
  if (range === '*') return undefined;
  const [from = '', to, more] = range.split('-');
  if (more !== undefined) return `"${item}" is not a value or a range`;
  for (const bound of [from, to]) {
    if (bound === undefined) continue;
    const number = value(bound);
    if (number === undefined || number < rule.min || number > rule.max) return `"${bound}" is outside ${rule.min}-${rule.max}${rule.names ? ` (or ${rule.names[0]}-${rule.names.at(-1)})` : ''}`;
  }
  return undefined;
}

/**
 * Parses a schedule expression. Returns the schedule, or the problem in words (naming the cron
 * field at fault). Pure.
 */
export function parseScheduleExpression(expression: string): ParsedSchedule | { problem: string } {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2]!;
    if (value < 1) return { problem: 'a rate must be a positive whole number' };
    if ((value === 1) !== !unit.endsWith('s')) return { problem: `write rate(${value} ${value === 1 ? unit.replace(/s$/, '') : `${unit.replace(/s$/, '')}s`}): the unit is singular exactly when the value is 1` };
    return { kind: 'rate', ms: value * UNITS[unit.replace(/s$/, '')]! };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) return { problem: 'must be rate(<value> <unit>) or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)' };
  const fields = cron[1]!.trim().split(/\s+/);
  if (fields.length !== 6) return { problem: `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year); this one has ${fields.length}` };
  for (const [index, field] of fields.entries()) {
    const rule = FIELDS[index]!;
    const upper = field.toUpperCase();
    const items = upper.split(',');
    if ((items.length > 1 || rule.special === undefined) && items.includes('?')) return { problem: `${rule.name}: "?" stands alone, in a day field` };
    for (const item of items) {
      const problem = itemProblem(item, rule);
      if (problem) return { problem: `${rule.name}: ${problem}` };
    }
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields.map((field) => field.toUpperCase()) as [string, string, string, string, string, string];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) return { problem: 'exactly one of Day-of-month and Day-of-week must be "?"' };
  return { kind: 'cron', minutes, hours, dayOfMonth, month, dayOfWeek, year };
}

/** Why `expression` is not a schedule EventBridge accepts, or undefined. Pure. */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const parsed = parseScheduleExpression(expression);
  return 'problem' in parsed ? parsed.problem : undefined;
}
