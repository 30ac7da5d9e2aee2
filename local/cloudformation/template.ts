import { createHash } from 'node:crypto';

import type { InputTransformer } from '../eventbridge/input-transformer';
import type { PolicyDocument, PolicyStatement } from '../iam/policy';

/**
 * Reads the CloudFormation template that `serverless package` produced and turns it into the
 * runtime's wiring: functions, rules, state machines, tables, queues, buckets and buses. This is
 * the runtime's only source of truth for what exists and what triggers what.
 *
 * Intrinsics are resolved the way CloudFormation resolves them for the handful the template uses:
 * Ref, Fn::GetAtt, Fn::Sub (both forms), Fn::Join, Fn::If with Conditions (Fn::Equals, Fn::Not,
 * Fn::And, Fn::Or) and the AWS::* pseudo parameters.
 */

export interface Template {
  Resources: Record<string, { Type: string; Condition?: string; Properties?: Record<string, unknown> }>;
  Conditions?: Record<string, unknown>;
}

export interface Environment {
  region: string;
  accountId: string;
  stackName: string;
  /** http://127.0.0.1:<port>, for queue URLs. */
  endpoint: string;
}

export interface FunctionSpec {
  logicalId: string;
  name: string;
  arn: string;
  handler: string;
  /** Key of the deployment artifact, e.g. `serverless/sluice/local/.../onSourcePush.zip`. */
  artifactKey: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  /** Async invocation: retries and on-failure destination ARN (EventInvokeConfig). */
  maximumRetryAttempts: number;
  onFailureDestination?: string;
}

export interface RuleTarget {
  id: string;
  arn: string;
  deadLetterArn?: string;
  maximumRetryAttempts?: number;
  /** What the target receives instead of the event: a constant JSON text, a part of the event, or a rendering. */
  input?: string;
  inputPath?: string;
  inputTransformer?: InputTransformer;
}

export interface RuleSpec {
  logicalId: string;
  name: string;
  eventBusName: string;
  eventPattern?: Record<string, unknown>;
  scheduleExpression?: string;
  enabled: boolean;
  targets: RuleTarget[];
}

export interface StateMachineSpec {
  logicalId: string;
  name: string;
  arn: string;
  definition: Record<string, unknown>;
  roleArn?: string;
}

export interface TableSpec {
  logicalId: string;
  name: string;
  keySchema: { AttributeName: string; KeyType: string }[];
  attributeDefinitions: { AttributeName: string; AttributeType: string }[];
  globalSecondaryIndexes?: unknown[];
}

export interface QueueSpec {
  logicalId: string;
  name: string;
  arn: string;
  url: string;
}

/** An SNS topic of the template, with the attributes CreateTopic takes and its TopicPolicy's document (JSON). */
export interface SnsTopicSpec {
  logicalId: string;
  name: string;
  arn: string;
  attributes: Record<string, string>;
  policy?: string;
}

/** An SNS subscription of the template (`AWS::SNS::Subscription`). */
export interface SnsSubscriptionSpec {
  logicalId: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
  attributes: Record<string, string>;
}

/**
 * An IAM role of the template with its identity policies, keyed by the ARN CloudFormation gives it
 * (`arn:aws:iam::<account>:role<Path><RoleName>`), the ARN a job's RoleArn carries.
 */
export interface RoleSpec {
  logicalId: string;
  name: string;
  arn: string;
  /** The inline policies (`Policies[].PolicyDocument`), intrinsics resolved. */
  policies: PolicyDocument[];
  /** `ManagedPolicyArns`, resolved: recorded, not evaluated (their documents are not in the template). */
  managedPolicyArns: string[];
  /** Why a statement was left out (an intrinsic the runtime cannot resolve); empty when none was. */
  unresolved: string[];
}

export interface Wiring {
  functions: FunctionSpec[];
  rules: RuleSpec[];
  stateMachines: StateMachineSpec[];
  tables: TableSpec[];
  queues: QueueSpec[];
  buckets: string[];
  /** The buckets whose NotificationConfiguration has EventBridgeConfiguration.EventBridgeEnabled. */
  eventBridgeBuckets: string[];
  eventBuses: string[];
  roles: RoleSpec[];
  snsTopics: SnsTopicSpec[];
  snsSubscriptions: SnsSubscriptionSpec[];
  /** The template's log groups (the functions' own, with the stage's retention). */
  logGroups: LogGroupSpec[];
}

export interface LogGroupSpec {
  name: string;
  retentionInDays?: number;
}

/** CloudFormation-style physical name for resources that do not name themselves. */
function generatedName(stackName: string, logicalId: string, maxLength: number, lowercase = false): string {
  const suffix = createHash('sha256').update(`${stackName}/${logicalId}`).digest('hex').slice(0, 12);
  const name = `${stackName}-${logicalId}`.slice(0, maxLength - 13);
  return lowercase ? `${name}-${suffix}`.toLowerCase() : `${name}-${suffix.toUpperCase()}`;
}

/** Resolves intrinsics against a template. Create once per template; pure apart from caching. */
export class IntrinsicResolver {
  private readonly names = new Map<string, string>();

  constructor(
    private readonly template: Template,
    private readonly env: Environment,
  ) {}

  /** The physical name CloudFormation gives (or the template sets for) a resource. */
  physicalName(logicalId: string): string {
    const cached = this.names.get(logicalId);
    if (cached) return cached;
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`template has no resource ${logicalId}`);
    const props = resource.Properties ?? {};
    const explicit: Record<string, string> = {
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::Events::Rule': 'Name',
      'AWS::Events::EventBus': 'Name',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::S3::Bucket': 'BucketName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::SNS::Topic': 'TopicName',
    };
    const field = explicit[resource.Type];
    const value = field ? props[field] : undefined;
    const name =
      value !== undefined
        ? String(this.resolve(value))
        : generatedName(this.env.stackName, logicalId, resource.Type === 'AWS::S3::Bucket' ? 63 : 80, resource.Type === 'AWS::S3::Bucket');
    this.names.set(logicalId, name);
    return name;
  }

  private arn(logicalId: string): string {
    const resource = this.template.Resources[logicalId]!;
    const { region, accountId } = this.env;
    const name = this.physicalName(logicalId);
    switch (resource.Type) {
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${accountId}:${name}`;
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
      case 'AWS::Events::EventBus':
        return `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
      case 'AWS::Events::Rule':
        return `arn:aws:events:${region}:${accountId}:rule/${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${accountId}:role${this.rolePath(logicalId)}${name}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${accountId}:${name}`;
      default:
        throw new Error(`Fn::GetAtt ${logicalId}.Arn: unsupported type ${resource.Type}`);
    }
  }

  /** A role's Path (default `/`); CloudFormation puts it between `role` and the name in the ARN. */
  private rolePath(logicalId: string): string {
    const path = this.template.Resources[logicalId]!.Properties?.Path;
    return path === undefined ? '/' : String(this.resolve(path));
  }

  private ref(name: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.env.region,
      'AWS::AccountId': this.env.accountId,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.env.stackName,
      'AWS::NoValue': '',
    };
    if (name in pseudo) return pseudo[name]!;
    const resource = this.template.Resources[name];
    if (!resource) throw new Error(`Ref to unknown resource ${name}`);
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return `${this.env.endpoint}/${this.env.accountId}/${this.physicalName(name)}`;
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SNS::Topic':
        return this.arn(name);
      default:
        return this.physicalName(name);
    }
  }

  /** Evaluates a condition by name. */
  condition(name: string): boolean {
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new Error(`unknown condition ${name}`);
    return Boolean(this.resolve(definition));
  }

  /** Resolves every intrinsic in `value` (deeply). */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, argument] = entries[0]!;
      switch (key) {
        case 'Ref':
          return this.ref(String(argument));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = (typeof argument === 'string' ? argument.split('.') : argument) as [string, string];
          if (attribute === 'Arn' || attribute === 'TopicArn') return this.arn(logicalId);
          if (attribute === 'QueueUrl') return this.ref(logicalId);
          if (attribute === 'QueueName' || attribute === 'Name' || attribute === 'TopicName') return this.physicalName(logicalId);
          throw new Error(`Fn::GetAtt ${logicalId}.${attribute} is not supported locally`);
        }
        case 'Fn::Sub': {
          const [text, variables] = (typeof argument === 'string' ? [argument, {}] : argument) as [string, Record<string, unknown>];
          return text.replace(/\$\{([^}!]+)\}/g, (_match, expression: string) => {
            if (Object.hasOwn(variables, expression)) return String(this.resolve(variables[expression]));
            if (expression.includes('.')) {
              const [logicalId, attribute] = expression.split('.') as [string, string];
              return String(this.resolve({ 'Fn::GetAtt': [logicalId, attribute] }));
            }
            return this.ref(expression);
          });
        }
        case 'Fn::Join': {
          const [separator, items] = argument as [string, unknown[]];
          return (this.resolve(items) as unknown[]).join(separator);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = argument as [string, unknown, unknown];
          return this.resolve(this.condition(condition) ? whenTrue : whenFalse);
        }
        case 'Fn::Equals': {
          const [a, b] = this.resolve(argument) as [unknown, unknown];
          return JSON.stringify(a) === JSON.stringify(b);
        }
        case 'Fn::Not':
          return !(this.resolve((argument as unknown[])[0]) as boolean);
        case 'Fn::And':
          return (argument as unknown[]).every((item) => this.resolve(item) as boolean);
        case 'Fn::Or':
          return (argument as unknown[]).some((item) => this.resolve(item) as boolean);
        case 'Condition':
          return this.condition(String(argument));
        default:
          break;
      }
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.resolve(item)]));
  }

  /** True when the resource's Condition (if any) holds. */
  exists(logicalId: string): boolean {
    const condition = this.template.Resources[logicalId]?.Condition;
    return condition === undefined || this.condition(condition);
  }
}

/** Reads the runtime's wiring from a packaged template. Throws on anything it cannot resolve. */
export function readWiring(template: Template, env: Environment): Wiring {
  const resolver = new IntrinsicResolver(template, env);
  const resources = Object.entries(template.Resources).filter(([logicalId]) => resolver.exists(logicalId));
  const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);
  const props = (logicalId: string) => resolver.resolve(template.Resources[logicalId]!.Properties ?? {}) as Record<string, unknown>;

  const invokeConfigs = new Map<string, { retries: number; onFailure?: string }>();
  for (const [logicalId] of ofType('AWS::Lambda::EventInvokeConfig')) {
    const p = props(logicalId) as { FunctionName: string; MaximumRetryAttempts?: number; DestinationConfig?: { OnFailure?: { Destination?: string } } };
    invokeConfigs.set(p.FunctionName, { retries: p.MaximumRetryAttempts ?? 2, onFailure: p.DestinationConfig?.OnFailure?.Destination });
  }

  const functions = ofType('AWS::Lambda::Function').map(([logicalId]): FunctionSpec => {
    const p = props(logicalId) as {
      FunctionName: string;
      Handler: string;
      Code: { S3Key: string };
      Environment?: { Variables?: Record<string, unknown> };
      Timeout?: number;
      MemorySize?: number;
    };
    const name = resolver.physicalName(logicalId);
    const invoke = invokeConfigs.get(name);
    return {
      logicalId,
      name,
      arn: `arn:aws:lambda:${env.region}:${env.accountId}:function:${name}`,
      handler: p.Handler,
      artifactKey: p.Code.S3Key,
      environment: Object.fromEntries(Object.entries(p.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)])),
      timeoutSeconds: p.Timeout ?? 6,
      memoryMb: p.MemorySize ?? 1024,
      maximumRetryAttempts: invoke?.retries ?? 2,
      onFailureDestination: invoke?.onFailure,
    };
  });

  const rules = ofType('AWS::Events::Rule').map(([logicalId]): RuleSpec => {
    const p = props(logicalId) as {
      Name?: string;
      EventBusName?: string;
      EventPattern?: Record<string, unknown>;
      ScheduleExpression?: string;
      State?: string;
      Targets?: { Id: string; Arn: string; DeadLetterConfig?: { Arn?: string }; RetryPolicy?: { MaximumRetryAttempts?: number }; Input?: string; InputPath?: string; InputTransformer?: InputTransformer }[];
    };
    return {
      logicalId,
      name: resolver.physicalName(logicalId),
      eventBusName: p.EventBusName ?? 'default',
      eventPattern: p.EventPattern,
      scheduleExpression: p.ScheduleExpression,
      enabled: (p.State ?? 'ENABLED') === 'ENABLED',
      targets: (p.Targets ?? []).map((t) => ({
        id: t.Id,
        arn: t.Arn,
        deadLetterArn: t.DeadLetterConfig?.Arn,
        maximumRetryAttempts: t.RetryPolicy?.MaximumRetryAttempts,
        ...(t.Input !== undefined ? { input: t.Input } : {}),
        ...(t.InputPath !== undefined ? { inputPath: t.InputPath } : {}),
        ...(t.InputTransformer ? { inputTransformer: t.InputTransformer } : {}),
      })),
    };
  });

  const stateMachines = ofType('AWS::StepFunctions::StateMachine').map(([logicalId]): StateMachineSpec => {
    const p = props(logicalId) as { DefinitionString: string | Record<string, unknown>; RoleArn?: string };
    const definition = typeof p.DefinitionString === 'string' ? (JSON.parse(p.DefinitionString) as Record<string, unknown>) : p.DefinitionString;
    const name = resolver.physicalName(logicalId);
    return { logicalId, name, arn: `arn:aws:states:${env.region}:${env.accountId}:stateMachine:${name}`, definition, roleArn: p.RoleArn };
  });

  const tables = ofType('AWS::DynamoDB::Table').map(([logicalId]): TableSpec => {
    const p = props(logicalId) as { KeySchema: TableSpec['keySchema']; AttributeDefinitions: TableSpec['attributeDefinitions']; GlobalSecondaryIndexes?: unknown[] };
    return { logicalId, name: resolver.physicalName(logicalId), keySchema: p.KeySchema, attributeDefinitions: p.AttributeDefinitions, globalSecondaryIndexes: p.GlobalSecondaryIndexes };
  });

  const queues = ofType('AWS::SQS::Queue').map(([logicalId]): QueueSpec => {
    const name = resolver.physicalName(logicalId);
    return { logicalId, name, arn: `arn:aws:sqs:${env.region}:${env.accountId}:${name}`, url: `${env.endpoint}/${env.accountId}/${name}` };
  });

  return {
    functions,
    rules,
    stateMachines,
    tables,
    queues,
    buckets: ofType('AWS::S3::Bucket').map(([logicalId]) => resolver.physicalName(logicalId)).filter((name) => !name.includes('ServerlessDeploymentBucket'.toLowerCase())),
    eventBridgeBuckets: ofType('AWS::S3::Bucket')
      .filter(([logicalId]) => (props(logicalId) as { NotificationConfiguration?: { EventBridgeConfiguration?: { EventBridgeEnabled?: unknown } } }).NotificationConfiguration?.EventBridgeConfiguration?.EventBridgeEnabled === true)
      .map(([logicalId]) => resolver.physicalName(logicalId)),
    eventBuses: ['default', ...ofType('AWS::Events::EventBus').map(([logicalId]) => resolver.physicalName(logicalId))],
    roles: ofType('AWS::IAM::Role').map(([logicalId]) => readRole(template, resolver, logicalId)),
    ...readSns(ofType, props, resolver),
    logGroups: ofType('AWS::Logs::LogGroup').map(([logicalId]): LogGroupSpec => {
      const p = props(logicalId) as { LogGroupName?: unknown; RetentionInDays?: unknown };
      return { name: typeof p.LogGroupName === 'string' ? p.LogGroupName : resolver.physicalName(logicalId), ...(typeof p.RetentionInDays === 'number' ? { retentionInDays: p.RetentionInDays } : {}) };
    }),
  };
}

/** Topic attributes CreateTopic takes that the template's AWS::SNS::Topic properties set. */
const TOPIC_ATTRIBUTES = ['DisplayName', 'KmsMasterKeyId', 'FifoTopic', 'ContentBasedDeduplication', 'SignatureVersion', 'TracingConfig'];
/** Subscription properties that are subscription attributes. */
const SUBSCRIPTION_ATTRIBUTES = ['RawMessageDelivery', 'FilterPolicyScope', 'RedrivePolicy', 'FilterPolicy', 'DeliveryPolicy'];

/** The template's SNS topics (with their TopicPolicy documents) and subscriptions. */
function readSns(
  ofType: (type: string) => [string, unknown][],
  props: (logicalId: string) => Record<string, unknown>,
  resolver: IntrinsicResolver,
): Pick<Wiring, 'snsTopics' | 'snsSubscriptions'> {
  const attributesOf = (p: Record<string, unknown>, names: string[]) =>
    Object.fromEntries(names.filter((name) => p[name] !== undefined).map((name) => [name, typeof p[name] === 'object' ? JSON.stringify(p[name]) : String(p[name])]));
  const policies = new Map<string, string>();
  for (const [logicalId] of ofType('AWS::SNS::TopicPolicy')) {
    const p = props(logicalId) as { Topics: string[]; PolicyDocument: unknown };
    for (const topicArn of p.Topics) policies.set(topicArn, JSON.stringify(p.PolicyDocument));
  }
  const snsTopics = ofType('AWS::SNS::Topic').map(([logicalId]): SnsTopicSpec => {
    const arn = String(resolver.resolve({ Ref: logicalId }));
    return { logicalId, name: resolver.physicalName(logicalId), arn, attributes: attributesOf(props(logicalId), TOPIC_ATTRIBUTES), policy: policies.get(arn) };
  });
  const snsSubscriptions = ofType('AWS::SNS::Subscription').map(([logicalId]): SnsSubscriptionSpec => {
    const p = props(logicalId) as { TopicArn: string; Protocol: string; Endpoint: string };
    return { logicalId, topicArn: p.TopicArn, protocol: p.Protocol, endpoint: p.Endpoint, attributes: attributesOf(p, SUBSCRIPTION_ATTRIBUTES) };
  });
  return { snsTopics, snsSubscriptions };
}

/**
 * A role's inline policies, resolved statement by statement: a statement with an intrinsic the
 * runtime cannot resolve is left out (and said so in `unresolved`) rather than failing the boot.
 */
function readRole(template: Template, resolver: IntrinsicResolver, logicalId: string): RoleSpec {
  const raw = template.Resources[logicalId]!.Properties ?? {};
  const unresolved: string[] = [];
  const policies = ((raw.Policies ?? []) as { PolicyName?: unknown; PolicyDocument?: { Version?: unknown; Statement?: unknown } }[]).map((policy): PolicyDocument => {
    const document = policy.PolicyDocument ?? {};
    const statements = Array.isArray(document.Statement) ? document.Statement : document.Statement === undefined ? [] : [document.Statement];
    return {
      Version: document.Version === undefined ? undefined : String(document.Version),
      Statement: statements.flatMap((statement: unknown, index) => {
        try {
          return [resolver.resolve(statement) as PolicyStatement];
        } catch (error) {
          unresolved.push(`${String(policy.PolicyName)} statement ${index + 1}: ${(error as Error).message}`);
          return [];
        }
      }),
    };
  });
  const managed = raw.ManagedPolicyArns === undefined ? [] : (resolver.resolve(raw.ManagedPolicyArns) as unknown[]).map(String);
  const name = resolver.physicalName(logicalId);
  return { logicalId, name, arn: String(resolver.resolve({ 'Fn::GetAtt': [logicalId, 'Arn'] })), policies, managedPolicyArns: managed, unresolved };
}
