import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { S3Client } from '@aws-sdk/client-s3';
import { parse as parseYaml } from 'yaml';

import { localTarget } from '../cli/target';
import { cliBackend } from '../dashboard/backend';
import { createDashboardHandler, isDashboardPath } from '../dashboard/handler';
import { type LocalImages, localSectionSchema } from '../shared/schemas/mlops-config';

import { readWiring, type Template, type Wiring } from './cloudformation/template';
import { CLOUDWATCH_CONTENT_TYPE, CLOUDWATCH_TARGET_PREFIX, type CloudWatchService, createCloudWatchService, readCloudWatchBody } from './cloudwatch/service';
import { createCodeCommitService, type CodeCommitService } from './codecommit/service';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION, type LocalEventEntry, ROOT, type ServiceContext, STAGE } from './context';
import { createDynamoDbService, type DynamoDbService } from './dynamodb/service';
import { createEventBridgeService, type EventBridgeEvent, type EventBridgeService } from './eventbridge/service';
import { AwsServiceError, readBody, sendAwsError, serveAwsJson, targetOperation, type JsonOperations } from './http/aws-json';
import { isQueryRequestFor, serveAwsQuery } from './http/aws-query';
import { RoleSessions } from './iam/sessions';
import { LambdaRuntime } from './lambda/runner';
import { createLogsService, LOGS_CONTENT_TYPE, LOGS_TARGET_PREFIX } from './logs/service';
import { createS3Service, type S3Service } from './s3/service';
import { createS3ObjectStore } from './sagemaker/object-store';
import { detectSandbox } from './sagemaker/sandbox';
import { createSageMakerService, type SageMakerService } from './sagemaker/service';
import type { ResolvedImage, ResolveImage } from './sagemaker/types';
import { createSnsService, SNS_NAMESPACE, SNS_SIGNING_NAME } from './sns/service';
import { createSqsService, type SqsService } from './sqs/service';
import { createStepFunctionsService, type StepFunctionsService } from './stepfunctions/service';

/**
 * The local runtime: one HTTP endpoint on loopback serving every AWS API the service calls, wired
 * from the CloudFormation template `serverless package --stage local` produces — its functions,
 * rules, state machines, tables, queues and buses. Nothing here lists functions or rules itself.
 */

export const STACK_NAME = `sluice-${STAGE}`;

export interface RuntimeOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Loopback unless told otherwise. */
  host?: string;
  /** Where `serverless package --stage local` writes (default: defaultPackageDir()); packaged when it holds no template. */
  packageDir?: string;
  /** Image URI → local command, used when the job's own mlops.yaml has no Local.Images entry for it. */
  images?: LocalImages;
  /** Async Lambda retry delays (AWS waits about 1 and 2 minutes). */
  asyncRetryDelaysMs?: number[];
  log?(line: string): void;
  /** Sees every event put on any bus (progress display). */
  onEvent?(event: EventBridgeEvent, bus: string): void;
}

const execFileAsync = promisify(execFile);

/** Runs `serverless package --stage local` into `directory` unless a template is already there. */
export async function ensurePackaged(directory: string): Promise<Template> {
  const templateFile = join(directory, 'cloudformation-template-update-stack.json');
  if (!isCompletePackage(directory, templateFile)) {
    const staging = `${directory}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(dirname(directory), { recursive: true });
    const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };
    await execFileAsync(join(ROOT, 'node_modules', '.bin', 'serverless'), ['package', '--stage', STAGE, '--package', staging], { cwd: ROOT, env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    // Two packagings at once in one checkout share serverless-esbuild's build folder: one may lose its zips.
    if (!isCompletePackage(staging, join(staging, 'cloudformation-template-update-stack.json'))) throw new Error(`serverless package left ${staging} without every function's zip; run it again`);
    rmSync(directory, { recursive: true, force: true });
    renameSync(staging, directory);
  }
  return JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
}

/** Whether `directory` holds the template and every function artifact it names (a package cut short is made again). */
function isCompletePackage(directory: string, templateFile: string): boolean {
  if (!existsSync(templateFile)) return false;
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
  const artifacts = Object.values(template.Resources).flatMap((resource) => {
    const key = (resource.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key;
    return typeof key === 'string' ? [basename(key)] : [];
  });
  return artifacts.every((artifact) => existsSync(join(directory, artifact)));
}

/** Everything `serverless package` reads: a change to any of these makes a new package. */
const PACKAGE_INPUTS = ['serverless.yml', 'package-lock.json', 'tsconfig.json', 'functions', 'shared', 'statemachines', 'events'];

/**
 * A package directory keyed by the hash of the service's sources, under node_modules/.cache, so
 * restarts and repeated demos reuse one `serverless package` run until the code changes.
 */
export function defaultPackageDir(): string {
  const hash = createHash('sha256');
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
      return;
    }
    hash.update(path.slice(ROOT.length)).update('\0').update(readFileSync(path)).update('\0');
  };
  for (const input of PACKAGE_INPUTS) visit(join(ROOT, input));
  return join(ROOT, 'node_modules', '.cache', 'sluice', `package-${hash.digest('hex').slice(0, 16)}`);
}

/** A running local runtime. Create with `LocalRuntime.start`. */
export class LocalRuntime {
  private constructor(
    readonly endpoint: string,
    readonly wiring: Wiring,
    private readonly server: Server,
    private readonly parts: {
      lambda: LambdaRuntime;
      eventBridge: EventBridgeService;
      sqs: SqsService;
      s3: S3Service;
      dynamoDb: DynamoDbService;
      codeCommit: CodeCommitService;
      sageMaker: SageMakerService;
      stepFunctions: StepFunctionsService;
      cloudWatch: CloudWatchService;
    },
  ) {}

  /** Events put on any bus so far (durable log), for status and tests. */
  events(filter?: { source?: string; detailType?: string }): EventBridgeEvent[] {
    return this.parts.eventBridge.history(filter);
  }

  /** Messages waiting in a queue of the template (e.g. the dead-letter queue), by logical id. */
  queueMessages(logicalId: string): { MessageId: string; Body: string }[] {
    const queue = this.wiring.queues.find((q) => q.logicalId === logicalId);
    return queue ? this.parts.sqs.peek(queue.arn) : [];
  }

  /** Boots the runtime; resolves once every service is ready. */
  static async start(options: RuntimeOptions): Promise<LocalRuntime> {
    const dataDir = resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
    const packageDir = resolve(options.packageDir ?? defaultPackageDir());
    const template = await ensurePackaged(packageDir);

    // Listen first: queue URLs and every client need the endpoint. Requests wait until wired.
    const wired: { route?: (request: IncomingMessage, response: ServerResponse) => Promise<void>; eventBridge?: EventBridgeService } = {};
    const server = createServer((request, response) => {
      const route = wired.route;
      if (!route) {
        sendAwsError(response, new AwsServiceError('ServiceUnavailable', 'the local runtime is starting', 503));
        return;
      }
      route(request, response).catch((error: unknown) => {
        log(`request failed: ${String(error)}`);
        if (!response.headersSent) sendAwsError(response, new AwsServiceError('InternalFailure', String(error), 500));
        else response.destroy();
      });
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((ready, fail) => {
      server.once('error', fail);
      server.listen(options.port, options.host ?? '127.0.0.1', () => ready());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const endpoint = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
    const wiring = readWiring(template, { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID, stackName: STACK_NAME, endpoint });

    const context = (name: string): ServiceContext => {
      const directory = join(dataDir, name);
      mkdirSync(directory, { recursive: true });
      return {
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT_ID,
        dataDir: directory,
        endpoint,
        publishEvent: async (entry: LocalEventEntry) => {
          await wired.eventBridge!.putEvent(entry);
        },
        log: (message, fields) => log(`[${name}] ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
      };
    };

    const sqs = createSqsService(context('sqs'), wiring.queues);
    // SNS: the template's topics and subscriptions; delivered e-mails are shown as they are sent.
    const sns = createSnsService(context('sns'), {
      topics: wiring.snsTopics,
      subscriptions: wiring.snsSubscriptions,
      sendToQueue: async (arn, body) => {
        await sqs.send(arn, body);
      },
      show: log,
    });
    // CloudWatch Logs first: Lambda's and SageMaker's processes write their output there.
    // Retention: the functions' groups as the template declares them; the groups SageMaker's jobs and endpoints
    // write get the same, the stage's logRetentionDays (serverless.yml gives it to every function's group).
    const logs = createLogsService(context('logs'), { groups: wiring.logGroups, defaultRetentionInDays: wiring.logGroups.find((group) => group.retentionInDays !== undefined)?.retentionInDays });
    const lambda = new LambdaRuntime(wiring.functions, {
      packageDir,
      dataDir: join(dataDir, 'lambda'),
      endpoint,
      region: LOCAL_REGION,
      asyncRetryDelaysMs: options.asyncRetryDelaysMs,
      sendToDestination: async (arn, record) => {
        await sqs.send(arn, JSON.stringify(record));
      },
      log: (message, fields) => log(`[lambda] ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
      logs: logs.sink,
    });
    const eventBridge = createEventBridgeService(context('events'), {
      observe: options.onEvent,
      rules: wiring.rules,
      eventBuses: wiring.eventBuses,
      targets: {
        invokeLambdaAsync: (arn, event) => lambda.invokeAsync(arn, event),
        sendToQueue: async (arn, body) => {
          await sqs.send(arn, body);
        },
        publishToTopic: async (arn, message) => {
          await sns.publish(arn, message);
        },
      },
    });
    wired.eventBridge = eventBridge;
    // The template's buckets, plus the ones the stage names by parameter (e.g. params.local.artifactsBucket):
    // on AWS those exist before the stack; locally the runtime's account is empty, so it creates them.
    const stageBuckets = wiring.functions.flatMap((fn) => Object.entries(fn.environment).filter(([name]) => name.endsWith('_BUCKET')).map(([, value]) => value));
    // Role sessions: a SageMaker job's or endpoint's credentials stand for its execution role, which S3 enforces.
    const roleSessions = new RoleSessions(wiring.roles, { accountId: LOCAL_ACCOUNT_ID, region: LOCAL_REGION, log });
    // Stage buckets are set up as the stack's own would be: object events go to EventBridge (README "Scheduled and data-arrival runs").
    const s3 = createS3Service(context('s3'), { buckets: [...wiring.buckets, ...stageBuckets], eventBridgeBuckets: [...wiring.eventBridgeBuckets, ...stageBuckets], authorizer: roleSessions });
    const dynamoDb = createDynamoDbService(context('dynamodb'), { tables: wiring.tables });
    const codeCommit = createCodeCommitService(context('codecommit'));
    const cloudWatch = createCloudWatchService(context('cloudwatch'));
    const s3Client = new S3Client({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
    // Jobs and endpoints never see the runtime's state; its own tree stays readable for node_modules.
    const sandbox = await detectSandbox({ hide: [dataDir], keepVisible: [ROOT], warn: (message) => log(`[sagemaker] WARNING: ${message}`) });
    const sageMaker = createSageMakerService(context('sagemaker'), {
      resolveImage: imageResolver({ dataDir, codeCommit, images: options.images ?? {} }),
      sandbox,
      objects: createS3ObjectStore(s3Client, (credentials) => new S3Client({ endpoint, region: LOCAL_REGION, credentials, forcePathStyle: true })),
      roleSessions,
      // Blue/green guardrails: rollback alarms are read from, and invocation metrics sent to, CloudWatch.
      alarms: { state: (name) => cloudWatch.alarmState(name) },
      metrics: { put: (datum) => cloudWatch.putMetric(datum) },
      logs: logs.sink,
    });
    const stepFunctions = createStepFunctionsService(context('stepfunctions'), {
      stateMachines: wiring.stateMachines,
      invokeLambda: (arn, payload) => lambda.invoke(arn, payload),
      putEvents: async (entries) => (await eventBridge.operations.PutEvents!({ Entries: entries })) as { FailedEntryCount: number; Entries: Record<string, unknown>[] },
    });

    const json = (operations: JsonOperations, contentType: string) => async (request: IncomingMessage, response: ServerResponse) =>
      serveAwsJson(request, response, await readBody(request), operations, {
        contentType,
        onError: (error, operation) => log(`[${operation}] internal error: ${(error as Error).stack ?? String(error)}`),
      });
    const byTarget: Record<string, (request: IncomingMessage, response: ServerResponse) => Promise<void>> = {
      SageMaker: json(sageMaker.operations, 'application/x-amz-json-1.1'),
      AWSStepFunctions: json(stepFunctions.operations, 'application/x-amz-json-1.0'),
      AWSEvents: json(eventBridge.operations, 'application/x-amz-json-1.1'),
      CodeCommit_20150413: json(codeCommit.operations, 'application/x-amz-json-1.1'),
      AmazonSQS: json(sqs.operations, 'application/x-amz-json-1.0'),
      [LOGS_TARGET_PREFIX]: json(logs.operations, LOGS_CONTENT_TYPE),
      DynamoDB_20120810: async (request, response) => dynamoDb.handle(request, response),
      // CloudWatch's SDK gzips large PutMetricData bodies.
      [CLOUDWATCH_TARGET_PREFIX]: async (request, response) =>
        serveAwsJson(request, response, await readCloudWatchBody(request), cloudWatch.operations, {
          contentType: CLOUDWATCH_CONTENT_TYPE,
          onError: (error, operation) => log(`[${operation}] internal error: ${(error as Error).stack ?? String(error)}`),
        }),
    };
    // The dashboard reads the runtime through its own AWS APIs, as `sluice status` does.
    const dashboard = createDashboardHandler({ backend: cliBackend(localTarget(endpoint)), hosts: isLoopbackHost(options.host) ? 'loopback' : 'any' });
    wired.route = async (request, response) => {
      const target = targetOperation(request);
      const path = (request.url ?? '/').split('?')[0]!;
      // A signed request to /dashboard/… is S3's (a bucket named "dashboard"); a browser's is the page's.
      if (!target && isDashboardPath(path) && !request.headers.authorization && !/[?&]X-Amz-Signature=/i.test(request.url ?? '')) {
        await dashboard(request, response);
      } else if (target) {
        const handler = Object.hasOwn(byTarget, target.prefix) ? byTarget[target.prefix] : undefined;
        if (!handler) {
          sendAwsError(response, new AwsServiceError('UnknownOperationException', `service ${target.prefix} is not emulated by the local runtime`));
          return;
        }
        await handler(request, response);
      } else if (isQueryRequestFor(request, SNS_SIGNING_NAME)) {
        await serveAwsQuery(response, await readBody(request), sns.operations, {
          namespace: SNS_NAMESPACE,
          onError: (error, action) => log(`[${action}] internal error: ${(error as Error).stack ?? String(error)}`),
        });
      } else if (path.startsWith('/v1/repos/')) {
        await codeCommit.handleGit(request, response);
      } else if (/^\/endpoints\/[^/]+\/invocations$/.test(path) && sageMaker.handleRuntime) {
        await sageMaker.handleRuntime(request, response);
      } else {
        s3.handle(request, response);
      }
    };

    await dynamoDb.start();
    await s3.start();
    await lambda.prepare();
    await cloudWatch.start();
    await sageMaker.start();
    await stepFunctions.start();
    // Work queued durably by a previous process: async invocations, then undelivered events.
    lambda.start();
    eventBridge.start();
    writeFileSync(join(dataDir, 'runtime.json'), JSON.stringify({ endpoint, pid: process.pid, startedAt: new Date().toISOString() }));
    return new LocalRuntime(endpoint, wiring, server, { lambda, eventBridge, sqs, s3, dynamoDb, codeCommit, sageMaker, stepFunctions, cloudWatch });
  }

  /** Stops everything, children included; state stays on disk. */
  async stop(): Promise<void> {
    const { eventBridge, stepFunctions, sageMaker, lambda, dynamoDb, cloudWatch } = this.parts;
    eventBridge.stop();
    await stepFunctions.stop();
    await sageMaker.stop();
    await cloudWatch.stop();
    await lambda.stop();
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
    await dynamoDb.stop();
  }
}

/** Whether the runtime listens on loopback only (then the dashboard serves loopback Host names only). */
function isLoopbackHost(host: string | undefined): boolean {
  return host === undefined || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * Which local command stands for an image: the job's own repository decides first (mlops.yaml's
 * `Local.Images` at the job's commit, found through the job's lineage tags), then the runtime's
 * configuration. Commands run in the commit's source tree, with the runtime's node_modules on
 * NODE_PATH so example code can use the libraries the runtime ships (ml-xgboost).
 */
export function imageResolver(options: { dataDir: string; codeCommit: CodeCommitService; images: NonNullable<RuntimeOptions['images']> }): ResolveImage {
  const nodePath = join(ROOT, 'node_modules');
  return async ({ imageUri, tags }) => {
    const repository = tags['sluice:repository'];
    const commit = tags['sluice:commit'];
    let sourceDir = ROOT;
    if (repository && commit && /^[\w.-]+$/.test(repository) && /^[0-9a-f]{40}$/.test(commit)) {
      sourceDir = join(options.dataDir, 'sources', `${repository}@${commit}`);
      if (!existsSync(sourceDir)) {
        const staging = `${sourceDir}.tmp-${process.pid}-${Date.now()}`;
        mkdirSync(staging, { recursive: true });
        await options.codeCommit.exportCommit(repository, commit, staging);
        if (!existsSync(sourceDir)) renameSync(staging, sourceDir);
        else rmSync(staging, { recursive: true, force: true });
      }
      const fromRepo = localImages(join(sourceDir, 'mlops.yaml'))[imageUri];
      if (fromRepo) return resolved(fromRepo, sourceDir, nodePath);
    }
    const fromRuntime = Object.hasOwn(options.images, imageUri) ? options.images[imageUri] : undefined;
    if (fromRuntime) return resolved(fromRuntime, sourceDir, nodePath);
    throw new Error(`no local command for image ${imageUri}: map it under Local.Images in mlops.yaml (or the runtime's --images file)`);
  };
}

/**
 * Validates a `Local` section (mlops.yaml's, or `{Images: …}` from the runtime's --images file) with
 * the schema builds use and returns its images; {} when absent. Throws naming the source and field.
 */
export function parseLocalSection(value: unknown, source: string): LocalImages {
  const parsed = localSectionSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${source}: Local: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return parsed.data?.Images ?? {};
}

/** mlops.yaml's Local.Images at a commit; {} when the file or the section is absent. */
function localImages(file: string): LocalImages {
  if (!existsSync(file)) return {};
  const document = parseYaml(readFileSync(file, 'utf8')) as { Local?: unknown } | null;
  return parseLocalSection(document?.Local, file);
}

function resolved(image: LocalImages[string], cwd: string, nodePath: string): ResolvedImage {
  return { command: image.Command, cwd, env: { NODE_PATH: nodePath, ...image.Environment } };
}
