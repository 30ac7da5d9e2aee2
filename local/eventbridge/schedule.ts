import { CronExpressionParser } from 'cron-parser';

import { type CronSchedule, parseScheduleExpression } from '../../shared/pipeline/schedule-expression';

/**
 * When a schedule rule fires, locally. AWS's six-field cron (UTC) is mapped onto cron-parser's
 * five fields plus seconds: Day-of-week numbers shift from AWS's 1-7 (SUN-SAT) to 0-6, a lone `L`
 * there is Saturday (the week's last day), `?` is `*`; what cron-parser lacks (the Year field and
 * `W`, the weekday nearest a day of the month) is applied as a filter on its candidates.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */

/** Candidates examined before a cron is taken never to fire again (e.g. cron(0 0 30 2 ? *)). */
const MAX_CANDIDATES = 200_000;

function shiftDayOfWeek(field: string): string {
  if (field === '?' || field === '*') return '*';
  if (field === 'L') return '6';
  // Numbers only: names (SUN-SAT) mean the same day to both.
  return field.replace(/\d+/g, (number, offset: number, whole: string) => (whole[offset - 1] === '#' || whole[offset - 1] === '/' ? number : String(Number(number) - 1)));
}

/** The values of a numeric field (`*`, `a`, `a-b`, with `/step`) within [min, max]. */
function expand(field: string, min: number, max: number): Set<number> {
  const values = new Set<number>();
  for (const item of field.split(',')) {
    const [range = '*', step = '1'] = item.split('/');
    const [from, to] = range === '*' ? [min, max] : range.split('-').map(Number);
    const end = to ?? (item.includes('/') ? max : from!);
    for (let value = from!; value <= end; value += Number(step)) values.add(value);
  }
  return values;
}

/** The weekday nearest day `day` of the month (`last` for LW), within that month, as AWS's `W` means. */
function nearestWeekday(year: number, month: number, day: number | 'last'): number {
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const target = day === 'last' ? daysInMonth : Math.min(day, daysInMonth);
  const weekday = new Date(Date.UTC(year, month, target)).getUTCDay();
  if (weekday === 6) return target === 1 ? 3 : target - 1;
  if (weekday === 0) return target === daysInMonth ? target - 2 : target + 1;
  return target;
}

/** The first time strictly after `after` that `cron` fires, or undefined if it never does again. Pure. */
export function nextCronTime(cron: CronSchedule, after: Date): Date | undefined {
  const weekdayOf = /^(\d+|L)W$/.exec(cron.dayOfMonth);
  const dayOfMonth = weekdayOf || cron.dayOfMonth === '?' ? '*' : cron.dayOfMonth;
  const years = expand(cron.year, 1970, 2199);
  const lastYear = Math.max(...years);
  const expression = CronExpressionParser.parse(`0 ${cron.minutes} ${cron.hours} ${dayOfMonth} ${cron.month} ${shiftDayOfWeek(cron.dayOfWeek)}`, { currentDate: after, tz: 'UTC' });
  for (let candidates = 0; candidates < MAX_CANDIDATES; candidates += 1) {
    const next = expression.next().toDate();
    const year = next.getUTCFullYear();
    if (year > lastYear) return undefined;
    if (!years.has(year)) continue;
    if (weekdayOf && next.getUTCDate() !== nearestWeekday(year, next.getUTCMonth(), weekdayOf[1] === 'L' ? 'last' : Number(weekdayOf[1]))) continue;
    return next;
  }
  return undefined;
}

/**
 * The first time strictly after `after` a schedule expression fires: a rate every `ms` from
 * `anchor` (AWS counts a rate from the rule's creation), a cron at its next match. Undefined for
 * an expression EventBridge would refuse or a cron that never fires again. Pure.
 */
export function nextFireTime(expression: string, after: Date, anchor: Date = after): Date | undefined {
  const parsed = parseScheduleExpression(expression);
  if ('problem' in parsed) return undefined;
  if (parsed.kind === 'cron') return nextCronTime(parsed, after);
  const periods = Math.floor((after.getTime() - anchor.getTime()) / parsed.ms) + 1;
  return new Date(anchor.getTime() + Math.max(1, periods) * parsed.ms);
}
