import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { RuleSpec } from '../cloudformation/template';
import type { LocalEventEntry, ServiceContext } from '../context';
import { AwsServiceError, type JsonOperations } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { compilePattern, type EventMatcher } from './pattern';
import { busName, createRuleRegistry, ruleArn, type StoredRule, targetPayload } from './rules';
import { nextFireTime } from './schedule';
import { testEventPattern } from './test-event-pattern';

/**
 * EventBridge, locally: PutEvents onto the default bus and the template's buses, rules (patterns
 * and rate()/cron() schedules) read from the packaged template or created at run time (PutRule,
 * PutTargets: local/eventbridge/rules.ts), delivery to their targets, and TestEventPattern. Every
 * event put is appended to a durable log (events.jsonl) that `sluice status` and tests read.
 *
 * Delivery is at-least-once, as EventBridge's retry policy makes it: an event that matches a rule
 * waits in a durable outbox (`outbox/`) until its targets have it, and start() delivers again what
 * a previous process accepted but died (or stopped) before delivering. Targets see the same event
 * id again then; they are idempotent.
 */

export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface EventTargets {
  /** Asynchronous Lambda invocation (EventBridge invokes Lambda targets with InvocationType Event): the event, or the target's Input. */
  invokeLambdaAsync(functionArn: string, event: unknown): void;
  /** SQS target / dead-letter queue. */
  sendToQueue(queueArn: string, body: string): Promise<void>;
  /** SNS target: EventBridge publishes the event (or the target's transformed input) as the message, with no subject. */
  publishToTopic(topicArn: string, message: string): Promise<void>;
}

export interface EventBridgeService {
  operations: JsonOperations;
  /** Puts one event on a bus and delivers it; used for AWS-service events (aws.sagemaker, aws.codecommit). */
  putEvent(entry: LocalEventEntry): Promise<EventBridgeEvent>;
  /** Events put so far, oldest first (from the durable log). */
  history(filter?: { source?: string; detailType?: string }): EventBridgeEvent[];
  start(): void;
  stop(): void;
}

/** Node's longest timer (2^31-1 ms, ~24.8 days): a later schedule waits this long, then looks again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** EventBridge rejects entries whose total size exceeds 256 KB. */
const MAX_ENTRY_BYTES = 256 * 1024;

/** The envelope EventBridge delivers an entry in (new id; `time` to the second, as AWS sends it). Pure apart from the id. */
export function toEventBridgeEvent(entry: LocalEventEntry, where: { accountId: string; region: string }, now = new Date()): EventBridgeEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: where.accountId,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region,
    resources: entry.Resources ?? [],
    detail: entry.Detail,
  };
}

/** Creates the service. `rules` come from the packaged template. */
export function createEventBridgeService(
  ctx: ServiceContext,
  options: { rules: RuleSpec[]; eventBuses: string[]; targets: EventTargets; observe?(event: EventBridgeEvent, bus: string): void },
): EventBridgeService {
  const logDir = join(ctx.dataDir);
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'events.jsonl');
  const buses = new Set(options.eventBuses);
  const compiled: { rule: RuleSpec; match: EventMatcher }[] = options.rules
    .filter((rule) => rule.enabled && rule.eventPattern)
    .map((rule) => ({ rule, match: compilePattern(rule.eventPattern!) }));
  /** The pending timer of each schedule rule of the template (`template@<name>`) and of each run-time one (`<name>`). */
  const scheduleTimers = new Map<string, NodeJS.Timeout>();
  let started = false;
  const patterns = new Map<string, EventMatcher>();
  const runTimeMatcher = (rule: StoredRule): EventMatcher => {
    const key = JSON.stringify(rule.eventPattern);
    if (!patterns.has(key)) patterns.set(key, compilePattern(rule.eventPattern!));
    return patterns.get(key)!;
  };
  const outbox = new JsonStore<{ bus: string; event: EventBridgeEvent }>(join(ctx.dataDir, 'outbox'));
  let outboxSequence = 0;

  const deliver = async (rule: RuleSpec, event: EventBridgeEvent) => {
    for (const target of rule.targets) {
      try {
        const payload = targetPayload(target, event, { ruleArn: ruleArn(ctx, busName(rule.eventBusName), rule.name), ruleName: rule.name });
        const text = () => (typeof payload === 'string' ? payload : JSON.stringify(payload));
        if (target.arn.startsWith('arn:aws:lambda:')) options.targets.invokeLambdaAsync(target.arn, payload);
        else if (target.arn.startsWith('arn:aws:sqs:')) await options.targets.sendToQueue(target.arn, text());
        else if (target.arn.startsWith('arn:aws:sns:')) await options.targets.publishToTopic(target.arn, text());
        else throw new Error(`target type not supported locally: ${target.arn}`);
      } catch (error) {
        ctx.log('event delivery failed', { rule: rule.name, target: target.arn, error: String(error) });
        if (target.deadLetterArn) {
          await options.targets.sendToQueue(target.deadLetterArn, JSON.stringify(event)).catch(() => undefined);
        }
      }
    }
  };

  const deliverMatching = async (event: EventBridgeEvent, bus: string) => {
    for (const { rule, match } of compiled) {
      if (busName(rule.eventBusName) === bus && match(event)) await deliver(rule, event);
    }
    for (const rule of registry.rules()) {
      if (rule.enabled && rule.eventPattern && rule.eventBusName === bus && runTimeMatcher(rule)(event)) await deliver(rule, event);
    }
  };

  const scheduledEvent = (rule: RuleSpec): EventBridgeEvent =>
    toEvent({ Source: 'aws.events', DetailType: 'Scheduled Event', Detail: {}, Resources: [ruleArn(ctx, busName(rule.eventBusName), rule.name)] });

  /**
   * Fires `rule` at each of its schedule's times, from `anchor` (a rate counts from the rule's
   * creation): one timer at a time, re-armed after each firing. Timers wait at most ~24 days (Node's
   * limit) and then look again. `current` reads the rule at each firing: its targets may have changed.
   */
  const arm = (rule: RuleSpec, anchor: Date, keep: (timer: NodeJS.Timeout) => void, current: () => RuleSpec | undefined = () => rule) => {
    const next = nextFireTime(rule.scheduleExpression!, new Date(), anchor);
    if (!next) {
      ctx.log('schedule never fires again; rule not scheduled', { rule: rule.name, schedule: rule.scheduleExpression });
      return;
    }
    const wait = next.getTime() - Date.now();
    const timer = setTimeout(() => {
      const now = current();
      if (!now) return;
      if (wait <= MAX_TIMER_MS) void deliver(now, scheduledEvent(now));
      arm(now, anchor, keep, current);
    }, Math.min(Math.max(wait, 0), MAX_TIMER_MS));
    timer.unref();
    keep(timer);
  };

  const armRunTime = (rule: StoredRule | undefined, name: string) => {
    clearTimeout(scheduleTimers.get(name));
    scheduleTimers.delete(name);
    if (!started || !rule?.enabled || !rule.scheduleExpression) return;
    arm(rule, new Date(rule.createdAt), (timer) => scheduleTimers.set(name, timer), () => registry.rules().find((stored) => stored.name === name && stored.eventBusName === 'default'));
  };

  const registry = createRuleRegistry(ctx, { templateRules: options.rules, buses, changes: { scheduleChanged: armRunTime } });


  const publish = async (event: EventBridgeEvent, bus: string) => {
    // Into the outbox before anything else: once accepted, an event reaches its targets even if the process dies now.
    const matched = compiled.some(({ rule, match }) => busName(rule.eventBusName) === bus && match(event)) || registry.rules().some((rule) => rule.enabled && rule.eventPattern && rule.eventBusName === bus && runTimeMatcher(rule)(event));
    // Keys sort in the order events were accepted, so a restart delivers them in that order.
    const key = `${String(Date.now()).padStart(15, '0')}-${String((outboxSequence += 1) % 1e6).padStart(6, '0')}-${event.id}`;
    if (matched) outbox.put(key, { bus, event });
    appendFileSync(logFile, `${JSON.stringify({ bus, event })}\n`);
    options.observe?.(event, bus);
    if (!matched) return;
    await deliverMatching(event, bus);
    outbox.delete(key);
  };

  /** Boot: delivers again every event a previous process accepted and had not delivered (at-least-once). */
  const redeliverOutbox = () => {
    const pending = outbox.list();
    if (pending.length === 0) return;
    ctx.log('delivering events accepted before the restart', { count: pending.length });
    void (async () => {
      for (const { key, value } of pending) {
        await deliverMatching(value.event, value.bus);
        outbox.delete(key);
      }
    })().catch((error: unknown) => ctx.log('could not deliver the outbox', { error: String(error) }));
  };

  const toEvent = (entry: LocalEventEntry): EventBridgeEvent => toEventBridgeEvent(entry, ctx);

  const operations: JsonOperations = {
    PutEvents: async (input) => {
      const entries = input.Entries;
      if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10) {
        throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10");
      }
      const results: Record<string, string>[] = [];
      for (const raw of entries as Record<string, unknown>[]) {
        const bus = busName(raw.EventBusName);
        if (!buses.has(bus)) {
          results.push({ ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${bus} does not exist.` });
          continue;
        }
        if (typeof raw.Source !== 'string' || typeof raw.DetailType !== 'string' || typeof raw.Detail !== 'string') {
          results.push({ ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source, DetailType and Detail are required.' });
          continue;
        }
        if (Buffer.byteLength(JSON.stringify(raw)) > MAX_ENTRY_BYTES) {
          results.push({ ErrorCode: 'InvalidArgument', ErrorMessage: 'Total size of the entries in the request is over the limit.' });
          continue;
        }
        let detail: unknown;
        try {
          detail = JSON.parse(raw.Detail);
        } catch {
          detail = undefined;
        }
        if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
          results.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
          continue;
        }
        const event = toEvent({
          Source: raw.Source,
          DetailType: raw.DetailType,
          Detail: detail as Record<string, unknown>,
          Resources: Array.isArray(raw.Resources) ? raw.Resources.map(String) : [],
        });
        await publish(event, bus);
        results.push({ EventId: event.id });
      }
      return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
    },
    ...registry.operations,
    TestEventPattern: async (input) => testEventPattern(input),
    ListEventBuses: async () => ({ EventBuses: [...buses].map((name) => ({ Name: name, Arn: `arn:aws:events:${ctx.region}:${ctx.accountId}:event-bus/${name}` })) }),
  };

  return {
    operations,
    async putEvent(entry) {
      const event = toEvent(entry);
      await publish(event, busName(entry.EventBusName));
      return event;
    },
    history(filter = {}) {
      if (!existsSync(logFile)) return [];
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { event: EventBridgeEvent }).event)
        .filter((event) => (!filter.source || event.source === filter.source) && (!filter.detailType || event['detail-type'] === filter.detailType));
    },
    start() {
      started = true;
      redeliverOutbox();
      // The template's rate() and cron() rules, a rate counted from now (the stack was just deployed).
      for (const rule of options.rules) {
        if (rule.enabled && rule.scheduleExpression) arm(rule, new Date(), (timer) => scheduleTimers.set(`template@${rule.name}`, timer));
      }
      for (const rule of registry.rules()) armRunTime(rule, rule.name);
    },
    stop() {
      started = false;
      for (const timer of scheduleTimers.values()) clearTimeout(timer);
      scheduleTimers.clear();
    },
  };
}
