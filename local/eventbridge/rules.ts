import type { RuleSpec, RuleTarget } from '../cloudformation/template';
import { AwsServiceError, type JsonOperations } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { type TransformContext, transformInput, valueAtPath } from './input-transformer';
import type { EventBridgeEvent } from './service';
import { scheduleExpressionProblem } from '../../shared/pipeline/schedule-expression';

/**
 * Rules created at run time (PutRule, PutTargets, RemoveTargets, DeleteRule, DescribeRule,
 * ListTargetsByRule), kept in the data directory so they survive a restart, beside the template's
 * rules (read-only here: CloudFormation owns them). And what a target receives: the event, its
 * constant `Input`, the part `InputPath` selects, or its `InputTransformer`'s rendering.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 */

/** A rule created at run time, as stored. */
export interface StoredRule extends RuleSpec {
  arn: string;
  description?: string;
  /** Epoch ms: a rate schedule counts from here, as AWS counts from the rule's creation. */
  createdAt: number;
}

/** What the service does when run-time rules change: re-arm or disarm a rule's schedule. */
export interface RuleChanges {
  scheduleChanged(rule: StoredRule | undefined, name: string): void;
}

const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

/** A bus named by name or ARN (`EventBusName` / a rule's bus), or absent: the default bus. */
export function busName(reference: unknown): string {
  if (reference === undefined || reference === null || reference === '') return 'default';
  const text = String(reference);
  return text.startsWith('arn:') ? text.slice(text.lastIndexOf('/') + 1) : text;
}

function validation(message: string): AwsServiceError {
  return new AwsServiceError('ValidationException', message);
}

/** What `target` receives for `event` matched by a rule: its constant Input, the part InputPath selects, its InputTransformer's rendering (parsed when it is JSON), or the event. */
export function targetPayload(target: RuleTarget, event: EventBridgeEvent, context: TransformContext): unknown {
  if (target.input !== undefined) return JSON.parse(target.input) as unknown;
  if (target.inputPath !== undefined) return valueAtPath(event, target.inputPath);
  if (!target.inputTransformer) return event;
  const text = transformInput(target.inputTransformer, event as unknown as Record<string, unknown>, context);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A rule's ARN: `rule/<name>` on the default bus, `rule/<bus>/<name>` on another. */
export function ruleArn(where: { region: string; accountId: string }, bus: string, name: string): string {
  return `arn:aws:events:${where.region}:${where.accountId}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
}

/** The run-time rules: their store and their API. `templateRules` are listed and described, never changed. */
export function createRuleRegistry(where: { region: string; accountId: string; dataDir: string }, options: { templateRules: RuleSpec[]; buses: Set<string>; changes: RuleChanges }) {
  const store = new JsonStore<StoredRule>(`${where.dataDir}/rules`);
  // Read once at start, then kept beside the store: every event put is matched against these.
  const current = new Map(store.list().map(({ key: stored, value }) => [stored, value]));
  const save = (rule: StoredRule) => {
    store.put(key(rule.eventBusName, rule.name), rule);
    current.set(key(rule.eventBusName, rule.name), rule);
  };
  const key = (bus: string, name: string) => `${bus}@${name}`;
  const find = (bus: string, name: string): { rule: RuleSpec; stored?: StoredRule } | undefined => {
    const stored = current.get(key(bus, name));
    if (stored) return { rule: stored, stored };
    const rule = options.templateRules.find((candidate) => candidate.name === name && busName(candidate.eventBusName) === bus);
    return rule ? { rule } : undefined;
  };
  const bus = (input: Record<string, unknown>): string => {
    const name = busName(input.EventBusName);
    if (!options.buses.has(name)) throw new AwsServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return name;
  };
  const ruleName = (value: unknown, field: string): string => {
    if (typeof value !== 'string' || !RULE_NAME.test(value)) throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64`);
    return value;
  };
  const existing = (input: Record<string, unknown>, field: string) => {
    const onBus = bus(input);
    const name = ruleName(input[field], field === 'Rule' ? 'rule' : 'name');
    const found = find(onBus, name);
    if (!found) throw new AwsServiceError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${onBus}.`);
    return { onBus, name, ...found };
  };
  const owned = (found: { name: string; stored?: StoredRule }): StoredRule => {
    if (!found.stored) throw new AwsServiceError('ManagedRuleException', `Rule ${found.name} belongs to the stack's template; change it there.`);
    return found.stored;
  };
  const describe = (rule: RuleSpec, onBus: string) => ({
    Name: rule.name,
    Arn: ruleArn(where, onBus, rule.name),
    EventPattern: rule.eventPattern ? JSON.stringify(rule.eventPattern) : undefined,
    ScheduleExpression: rule.scheduleExpression,
    State: rule.enabled ? 'ENABLED' : 'DISABLED',
    Description: (rule as Partial<StoredRule>).description,
    EventBusName: onBus,
  });

  const operations: JsonOperations = {
    PutRule: async (input) => {
      const onBus = bus(input);
      const name = ruleName(input.Name, 'name');
      const schedule = input.ScheduleExpression as string | undefined;
      const pattern = input.EventPattern as string | undefined;
      if (schedule === undefined && pattern === undefined) throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
      if (schedule !== undefined && (typeof schedule !== 'string' || scheduleExpressionProblem(schedule))) throw validation('Parameter ScheduleExpression is not valid.');
      if (schedule !== undefined && onBus !== 'default') throw validation('ScheduleExpression is supported only on the default event bus.');
      let eventPattern: Record<string, unknown> | undefined;
      if (pattern !== undefined) {
        try {
          eventPattern = JSON.parse(pattern) as Record<string, unknown>;
        } catch {
          throw new AwsServiceError('InvalidEventPatternException', 'Event pattern is not valid. Reason: it is not JSON.');
        }
      }
      const found = find(onBus, name);
      if (found && !found.stored) owned({ name });
      const rule: StoredRule = {
        logicalId: name,
        name,
        arn: ruleArn(where, onBus, name),
        eventBusName: onBus,
        eventPattern,
        scheduleExpression: schedule,
        enabled: (input.State ?? 'ENABLED') === 'ENABLED',
        description: input.Description as string | undefined,
        targets: found?.stored?.targets ?? [],
        // Re-putting the same schedule keeps its anchor; a new one starts counting now.
        createdAt: found?.stored && found.stored.scheduleExpression === schedule ? found.stored.createdAt : Date.now(),
      };
      save(rule);
      options.changes.scheduleChanged(rule, name);
      return { RuleArn: rule.arn };
    },
    PutTargets: async (input) => {
      const stored = owned(existing(input, 'Rule'));
      const targets = input.Targets as Record<string, unknown>[] | undefined;
      if (!Array.isArray(targets) || targets.length === 0 || targets.length > 10) throw validation("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10");
      const failed: Record<string, string>[] = [];
      for (const target of targets) {
        const transformer = target.InputTransformer as { InputPathsMap?: Record<string, string>; InputTemplate?: string } | undefined;
        const inputs = [target.Input, target.InputPath, transformer].filter((value) => value !== undefined).length;
        if (typeof target.Id !== 'string' || typeof target.Arn !== 'string') {
          failed.push({ TargetId: String(target.Id), ErrorCode: 'ValidationException', ErrorMessage: 'Id and Arn are required.' });
        } else if (inputs > 1) {
          failed.push({ TargetId: target.Id, ErrorCode: 'ValidationException', ErrorMessage: 'Only one of Input, InputPath, or InputTransformer can be specified.' });
        } else if (transformer && typeof transformer.InputTemplate !== 'string') {
          failed.push({ TargetId: target.Id, ErrorCode: 'ValidationException', ErrorMessage: 'InputTemplate is required in InputTransformer.' });
        } else {
          const entry: RuleTarget = {
            id: target.Id,
            arn: target.Arn,
            deadLetterArn: (target.DeadLetterConfig as { Arn?: string } | undefined)?.Arn,
            maximumRetryAttempts: (target.RetryPolicy as { MaximumRetryAttempts?: number } | undefined)?.MaximumRetryAttempts,
            ...(typeof target.Input === 'string' ? { input: target.Input } : {}),
            ...(typeof target.InputPath === 'string' ? { inputPath: target.InputPath } : {}),
            ...(transformer ? { inputTransformer: { InputPathsMap: transformer.InputPathsMap, InputTemplate: transformer.InputTemplate! } } : {}),
          };
          stored.targets = [...stored.targets.filter((other) => other.id !== entry.id), entry];
        }
      }
      save(stored);
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    },
    RemoveTargets: async (input) => {
      const stored = owned(existing(input, 'Rule'));
      const ids = new Set((input.Ids as unknown[] | undefined)?.map(String) ?? []);
      stored.targets = stored.targets.filter((target) => !ids.has(target.id));
      save(stored);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    DeleteRule: async (input) => {
      const onBus = bus(input);
      const name = ruleName(input.Name, 'name');
      const found = find(onBus, name);
      if (!found) return {};
      const stored = owned({ name, stored: found.stored });
      if (stored.targets.length > 0) throw validation("Rule can't be deleted since it has targets.");
      store.delete(key(onBus, name));
      current.delete(key(onBus, name));
      options.changes.scheduleChanged(undefined, name);
      return {};
    },
    DescribeRule: async (input) => {
      const { rule, onBus } = existing(input, 'Name');
      return describe(rule, onBus);
    },
    ListTargetsByRule: async (input) => {
      const { rule } = existing(input, 'Rule');
      return {
        Targets: rule.targets.map((target) => ({
          Id: target.id,
          Arn: target.arn,
          ...(target.input !== undefined ? { Input: target.input } : {}),
          ...(target.inputPath !== undefined ? { InputPath: target.inputPath } : {}),
          ...(target.inputTransformer ? { InputTransformer: target.inputTransformer } : {}),
          ...(target.deadLetterArn ? { DeadLetterConfig: { Arn: target.deadLetterArn } } : {}),
        })),
      };
    },
    ListRules: async (input) => {
      const onBus = bus(input);
      const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
      const rules = [...options.templateRules.filter((rule) => busName(rule.eventBusName) === onBus), ...[...current.values()].filter((rule) => rule.eventBusName === onBus)];
      return { Rules: rules.filter((rule) => rule.name.startsWith(prefix)).map((rule) => describe(rule, onBus)) };
    },
  };

  return {
    operations,
    /** The run-time rules, as stored now. */
    rules: (): StoredRule[] => [...current.values()],
  };
}
