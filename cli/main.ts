import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { parse as parseYaml } from 'yaml';

import type { EventBridgeEvent } from '../local/eventbridge/service';
import { LocalRuntime, parseLocalSection } from '../local/runtime';
import { EXAMPLES, seedExample } from '../local/seed';
import { formatStatus, getStatus, promote, setApproval } from './status';
import { executionArnOf, parseParameters, requestBuild, retryRun } from './build-commands';
import { formatLineage, lineageFrom } from './lineage';
import { followJobLogs, type LogLine, readLogs } from './logs';
import { cliBackend } from '../dashboard/backend';
import { serveDashboard } from '../dashboard/server';

/**
 * The `sluice` command line: `up` runs the local runtime in the foreground; `status`, `approve`
 * and `reject` talk to a runtime (or to AWS) through the AWS APIs.
 */

const USAGE = `Usage:
  sluice up [--port <n>] [--host <addr>] [--data-dir <dir>] [--package-dir <dir>] [--images <file>] [--seed]
  sluice status [--json] [--endpoint <url>] [--data-dir <dir>]
  sluice approve|reject <model package ARN or group/version> [--endpoint <url>] [--data-dir <dir>] [--description <text>]
  sluice promote <model package ARN or group/version> [--endpoint <url>] [--data-dir <dir>] [--bus <name>]
  sluice lineage <model version (<group>/<version> or ARN) | endpoint> [--json]   (commit → run → job → version → endpoints)
  sluice logs <SageMaker job | endpoint> [--follow] [--json]   (its output lines, from CloudWatch Logs; --follow: a job's, until it ends)
  sluice run <repository> [--branch <name>] [--commit <id>] [--param Name=value ...] [--from-step <step> --source <run>] [--bus <name>]
  sluice retry <run: execution ARN or <state machine>/<execution>>   (redrive a failed run from its failed step)
  sluice dashboard [--port <n>] [--bus <name>]   (the dashboard on 127.0.0.1:<port>, default 4800; a runtime serves its own at <endpoint>/dashboard/)

  Every command takes --json (its answer as one JSON object).
  --endpoint defaults to $AWS_ENDPOINT_URL, then $SLUICE_ENDPOINT, then the runtime recorded in <data-dir>/runtime.json.
  --data-dir defaults to ./.sluice.`;

const DEFAULT_PORT = 4799;
const DEFAULT_DASHBOARD_PORT = 4800;

/** One line per event worth seeing while a build runs. */
export function describeEvent(event: EventBridgeEvent): string | undefined {
  const detail = event.detail;
  const text = (key: string) => (typeof detail[key] === 'string' ? (detail[key] as string) : undefined);
  switch (event['detail-type']) {
    case 'CodeCommit Repository State Change':
      return `push      ${text('repositoryName')} ${text('referenceName')} ${text('event')} ${text('commitId')?.slice(0, 7) ?? ''}`;
    case 'SageMaker Processing Job State Change':
      return `job       ${text('ProcessingJobName')} ${text('ProcessingJobStatus')}${text('FailureReason') ? ` — ${text('FailureReason')}` : ''}`;
    case 'SageMaker Training Job State Change':
      return `job       ${text('TrainingJobName')} ${text('TrainingJobStatus')}${text('FailureReason') ? ` — ${text('FailureReason')}` : ''}`;
    case 'SageMaker Model Package State Change':
      return `model     ${text('ModelPackageGroupName')}/${String(detail.ModelPackageVersion ?? '')} ${text('ModelApprovalStatus')}`;
    case 'SageMaker Endpoint State Change':
      return `endpoint  ${text('EndpointName')} ${text('EndpointStatus')}`;
    case 'Scheduled Event':
      return undefined;
    case 'Model Build Succeeded': {
      // Every step's result rides along in the event; the line says what matters: where they came from, what was registered.
      const steps = Object.entries((detail.steps ?? {}) as Record<string, { CachedFrom?: string | null; ReusedFrom?: string | null }>);
      const cached = steps.filter(([, result]) => result.CachedFrom).length;
      const reused = steps.filter(([, result]) => result.ReusedFrom).length;
      return `build     ${text('repository')} ${text('commit')?.slice(0, 7) ?? ''} succeeded: ${steps.length} steps${cached ? `, ${cached} from the cache` : ''}${reused ? `, ${reused} reused` : ''}${text('modelPackageArn') ? ` → ${text('modelPackageArn')}` : ''}`;
    }
    case 'Model Build Failed':
      return `build     ${text('repository')} ${text('commit')?.slice(0, 7) ?? ''} FAILED at ${text('step') ?? '?'}: ${text('error') ?? ''}: ${text('cause') ?? ''}`;
    default:
      return event.source.startsWith('aws.') ? undefined : `${event['detail-type'].padEnd(9)} ${JSON.stringify(detail)}`;
  }
}

/**
 * The runtime a command talks to, found as AWS tools find an endpoint: `--endpoint`, then the SDKs'
 * own AWS_ENDPOINT_URL, then SLUICE_ENDPOINT, then the runtime recorded in `<data dir>/runtime.json`.
 */
export function endpointFrom(values: { endpoint?: string; 'data-dir'?: string }, env: NodeJS.ProcessEnv = process.env): string {
  const given = values.endpoint ?? env.AWS_ENDPOINT_URL ?? env.SLUICE_ENDPOINT;
  if (given) return given;
  const file = join(resolve(values['data-dir'] ?? '.sluice'), 'runtime.json');
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { endpoint: string }).endpoint;
  throw new Error(`no runtime endpoint: pass --endpoint, set AWS_ENDPOINT_URL, or start one with "sluice up" (looked for ${file})`);
}

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' }, 'package-dir': { type: 'string' }, images: { type: 'string' }, seed: { type: 'boolean' }, quiet: { type: 'boolean' } },
  });
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected 0-65535, got "${values.port}"`);
  const images = values.images ? parseLocalSection({ Images: parseYaml(readFileSync(values.images, 'utf8')) as unknown }, values.images) : undefined;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const runtime = await LocalRuntime.start({
    port,
    host: values.host,
    dataDir: values['data-dir'] ?? '.sluice',
    packageDir: values['package-dir'],
    images,
    log: values.quiet ? () => undefined : (line) => process.stderr.write(`${line}\n`),
    onEvent: (event) => {
      const line = describeEvent(event);
      if (line) say(`${new Date().toISOString().slice(11, 19)} ${line}`);
    },
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  say(`Sluice local runtime ready at ${runtime.endpoint}`);
  say(`  AWS CLI/SDKs:  AWS_ENDPOINT_URL=${runtime.endpoint} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1`);
  say(`  status:        npx sluice status --endpoint ${runtime.endpoint}`);
  if (values.seed) {
    try {
      for (const example of EXAMPLES) {
        const seeded = await seedExample(runtime.endpoint, example);
        say(`  model repo:    git clone ${seeded.cloneUrl}   (push to main to retrain${seeded.created ? '; its first build is running' : ''})`);
      }
    } catch (error) {
      process.stderr.write(`seeding the example repository failed: ${(error as Error).message}\n`);
      stop('seed failure');
    }
  }
}

/** A command's answer: `object` as JSON with --json, else `text`. */
function answer(json: boolean | undefined, object: object, text: string): void {
  process.stdout.write(`${json ? JSON.stringify(object, null, 2) : text}\n`);
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      await up(rest);
      return -1; // keeps running until a signal
    case 'status': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, endpoint: { type: 'string' }, 'data-dir': { type: 'string' } } });
      const status = await getStatus(endpointFrom(values));
      process.stdout.write(`${values.json ? JSON.stringify(status, null, 2) : formatStatus(status)}\n`);
      return 0;
    }
    case 'approve':
    case 'reject': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, endpoint: { type: 'string' }, 'data-dir': { type: 'string' }, description: { type: 'string' } } });
      if (positionals.length !== 1) throw new Error(`${command}: expected one model package (ARN or group/version)`);
      const approval = command === 'approve' ? 'Approved' : 'Rejected';
      const arn = await setApproval(endpointFrom(values), positionals[0]!, approval, values.description);
      answer(values.json, { modelPackageArn: arn, approval }, `${approval} ${arn}`);
      return 0;
    }
    case 'promote': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, endpoint: { type: 'string' }, 'data-dir': { type: 'string' }, bus: { type: 'string' } } });
      if (positionals.length !== 1) throw new Error('promote: expected one model package (ARN or group/version)');
      const arn = await promote(endpointFrom(values), positionals[0]!, values.bus ?? 'sluice-local');
      answer(values.json, { modelPackageArn: arn, promotion: 'requested' }, `Promotion requested for ${arn}`);
      return 0;
    }
    case 'lineage': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, endpoint: { type: 'string' }, 'data-dir': { type: 'string' } } });
      if (positionals.length !== 1) throw new Error('lineage: expected one model version (<group>/<version> or ARN) or endpoint name');
      const lineage = lineageFrom(await getStatus(endpointFrom(values)), positionals[0]!);
      process.stdout.write(`${values.json ? JSON.stringify(lineage, null, 2) : formatLineage(lineage)}\n`);
      return 0;
    }
    case 'logs': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, follow: { type: 'boolean' }, endpoint: { type: 'string' }, 'data-dir': { type: 'string' } } });
      if (positionals.length !== 1) throw new Error('logs: expected one SageMaker job or endpoint name');
      const format = (line: LogLine) => `${new Date(line.timestamp).toISOString()} ${line.stream}  ${line.message}`;
      if (values.follow) {
        // One line at a time as they arrive (JSON Lines with --json), until the job ends.
        await followJobLogs(endpointFrom(values), positionals[0]!, (line) => process.stdout.write(`${values.json ? JSON.stringify(line) : format(line)}\n`));
        return 0;
      }
      const lines = await readLogs(endpointFrom(values), positionals[0]!);
      answer(values.json, { lines }, lines.map(format).join('\n'));
      return 0;
    }
    case 'run': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          branch: { type: 'string' },
          commit: { type: 'string' },
          param: { type: 'string', multiple: true },
          'from-step': { type: 'string' },
          source: { type: 'string' },
          bus: { type: 'string' },
          json: { type: 'boolean' },
          endpoint: { type: 'string' },
          'data-dir': { type: 'string' },
        },
      });
      if (positionals.length !== 1) throw new Error('run: expected one repository');
      const request = {
        repository: positionals[0]!,
        ...(values.branch ? { branch: values.branch } : {}),
        ...(values.commit ? { commit: values.commit } : {}),
        parameters: parseParameters(values.param ?? []),
        ...(values['from-step'] ? { fromStep: values['from-step'] } : {}),
        ...(values.source ? { sourceExecutionArn: executionArnOf(values.source) } : {}),
      };
      const requestId = await requestBuild(endpointFrom(values), request, values.bus ?? 'sluice-local');
      answer(values.json, { requestId, ...request }, `Build requested for ${request.repository}@${request.commit ?? values.branch ?? 'main'} (request ${requestId}); follow it with "sluice status"`);
      return 0;
    }
    case 'retry': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, endpoint: { type: 'string' }, 'data-dir': { type: 'string' } } });
      if (positionals.length !== 1) throw new Error('retry: expected one run (execution ARN or <state machine>/<execution>)');
      const retried = await retryRun(endpointFrom(values), positionals[0]!);
      answer(values.json, retried, `Retrying ${retried.executionArn} from its failed step (redrive ${retried.redriveCount})`);
      return 0;
    }
    case 'dashboard': {
      const { values } = parseArgs({ args: rest, options: { port: { type: 'string' }, bus: { type: 'string' }, json: { type: 'boolean' }, endpoint: { type: 'string' }, 'data-dir': { type: 'string' } } });
      const port = values.port === undefined ? DEFAULT_DASHBOARD_PORT : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected 0-65535, got "${values.port}"`);
      const server = await serveDashboard({ backend: cliBackend(endpointFrom(values), { bus: values.bus ?? 'sluice-local' }), port });
      answer(values.json, { url: server.url }, `Sluice dashboard at ${server.url}  (Ctrl-C stops it)`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return -1; // serves until a signal
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}
