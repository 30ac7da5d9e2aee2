import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { parse as parseYaml } from 'yaml';

import type { EventBridgeEvent } from '../local/eventbridge/service';
import { LocalRuntime, parseLocalSection } from '../local/runtime';
import { EXAMPLES, seedExample } from '../local/seed';
import { formatStatus, getStatus, promote, type RunStatus, setApproval } from './status';
import { executionArnOf, parseParameters, requestBuild, retryRun } from './build-commands';
import { CliError, reportedError } from './errors';
import { formatLineage, lineageFrom } from './lineage';
import { followJobLogs, followRunLogs, isRunReference, type LogLine, readLogs, readRunLogs, type RunLogLine } from './logs';
import { resolveTarget, type Target, TARGET_OPTIONS, type TargetFlags } from './target';
import { findRequestedRun, waitForRun } from './wait';
import { cliBackend } from '../dashboard/backend';
import { serveDashboard } from '../dashboard/server';

/**
 * The `sluice` command line: `up` runs the local runtime in the foreground; `status`, `approve`
 * and `reject` talk to a runtime (or to AWS) through the AWS APIs.
 */

const USAGE = `Usage:
  sluice up [--port <n>] [--host <addr>] [--data-dir <dir>] [--package-dir <dir>] [--images <file>] [--seed]
  sluice status                                         runs (steps, durations, cache hits), model versions (metrics), endpoints
  sluice approve|reject <group>/<version> [--description <text>]
  sluice promote <group>/<version>                      release the prod gate of the deploy waiting on it
  sluice lineage <group>/<version> | <endpoint>         commit → run → jobs → version → endpoints
  sluice logs <job | endpoint> [--follow]               its output lines, from CloudWatch Logs
  sluice logs <run> [--step <name>] [--follow]          the lines of the jobs a run started, by step (--follow: until the run ends)
  sluice run <repository> [--branch <name>] [--commit <id>] [--param Name=value ...] [--from-step <step> --source <run>] [--wait]
  sluice retry <run> [--wait]                           redrive a failed run from its failed step
  sluice dashboard [--port <n>]                         the dashboard on 127.0.0.1:<port> (default 4800); a runtime serves its own at <endpoint>/dashboard/
  (<run>: an execution ARN, or <state machine>/<execution> as "sluice status" shows it; a model version may be its ARN)

  Every command takes --json (its answer as one JSON object; errors as {"error": {"code", "message"}}).
  Target: the local runtime named by --endpoint, else $AWS_ENDPOINT_URL, else (unless --stage/--profile/--region)
  $SLUICE_ENDPOINT or the runtime recorded in <data-dir>/runtime.json (--data-dir defaults to ./.sluice);
  otherwise the deployed stack sluice-<stage> on AWS: --stage <stage> (default dev), credentials and region as the
  AWS CLI finds them (--profile / $AWS_PROFILE, --region / $AWS_REGION / $AWS_DEFAULT_REGION / the profile's region).`;

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
    case 'SageMaker HyperParameter Tuning Job State Change':
      return `tuning    ${text('HyperParameterTuningJobName')} ${text('HyperParameterTuningJobStatus')}${text('FailureReason') ? ` — ${text('FailureReason')}` : ''}`;
    case 'SageMaker Transform Job State Change':
      return `transform ${text('TransformJobName')} ${text('TransformJobStatus')}${text('FailureReason') ? ` — ${text('FailureReason')}` : ''}`;
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

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' }, 'package-dir': { type: 'string' }, images: { type: 'string' }, seed: { type: 'boolean' }, quiet: { type: 'boolean' } },
  });
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('BadArguments', `--port: expected 0-65535, got "${values.port}"`);
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

/** The target with `--bus` (when given) as the bus `promote` and `run` publish on. */
function withBus(target: Target, bus: string | undefined): Target {
  return bus ? { ...target, names: { ...target.names, eventBusName: bus } } : target;
}

/** A command's answer: `object` as JSON with --json, else `text`. */
function answer(json: boolean | undefined, object: object, text: string): void {
  process.stdout.write(`${json ? JSON.stringify(object, null, 2) : text}\n`);
}

/** A command's answer to a progress reader: on stderr, so stdout keeps only the answer. */
function progress(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** How `sluice run|retry --wait` ends: the run as it ended, and exit code 0 only when it succeeded. */
function ended(json: boolean | undefined, run: RunStatus, executionArn: string): number {
  const retry = `sluice retry ${run.stateMachine}/${run.name}`;
  answer(json, { executionArn, ...run }, run.status === 'SUCCEEDED' ? `${run.stateMachine}/${run.name} succeeded` : `${run.stateMachine}/${run.name} ${run.status}${run.error ? ` at ${run.error}: ${run.cause ?? ''}` : ''}; see its job output with "sluice logs ${run.stateMachine}/${run.name}", retry with "${retry}"`);
  return run.status === 'SUCCEEDED' ? 0 : 1;
}

/** Parses a command's flags with the target flags and --json added. */
function parse<O extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(args: string[], options: O) {
  return parseArgs({ args, allowPositionals: true, options: { ...TARGET_OPTIONS, json: { type: 'boolean' }, ...options } as const });
}

/** Runs the CLI; resolves with the process exit code. Errors go to stderr (and with --json to stdout as {"error": …}), exit code 1. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let target: Target | undefined;
  const targetOf = async (flags: TargetFlags): Promise<Target> => (target = await resolveTarget(flags, env));
  try {
    return await runCommand(argv, targetOf);
  } catch (error) {
    const reported = reportedError(error, target?.endpoint);
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: reported }, null, 2)}\n`);
    process.stderr.write(`sluice: ${reported.message}\n`);
    return 1;
  }
}

async function runCommand(argv: string[], targetOf: (flags: TargetFlags) => Promise<Target>): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      await up(rest);
      return -1; // keeps running until a signal
    case 'status': {
      const { values } = parse(rest, {});
      const target = await targetOf(values);
      const status = await getStatus(target);
      // Text says which stage it shows: the same command reads the local runtime or a deployed stage.
      const where = target.kind === 'local' ? `local runtime ${target.endpoint}` : `${target.stackName} in ${target.region}, account ${target.accountId}`;
      process.stdout.write(`${values.json ? JSON.stringify(status, null, 2) : `Stage ${target.stage} (${where})\n${formatStatus(status)}`}\n`);
      return 0;
    }
    case 'approve':
    case 'reject': {
      const { values, positionals } = parse(rest, { description: { type: 'string' } });
      if (positionals.length !== 1) throw new CliError('BadArguments', `${command}: expected one model package (ARN or group/version)`);
      const approval = command === 'approve' ? 'Approved' : 'Rejected';
      const arn = await setApproval(await targetOf(values), positionals[0]!, approval, values.description);
      answer(values.json, { modelPackageArn: arn, approval }, `${approval} ${arn}`);
      return 0;
    }
    case 'promote': {
      const { values, positionals } = parse(rest, { bus: { type: 'string' } });
      if (positionals.length !== 1) throw new CliError('BadArguments', 'promote: expected one model package (ARN or group/version)');
      const arn = await promote(withBus(await targetOf(values), values.bus), positionals[0]!);
      answer(values.json, { modelPackageArn: arn, promotion: 'requested' }, `Promotion requested for ${arn}`);
      return 0;
    }
    case 'lineage': {
      const { values, positionals } = parse(rest, {});
      if (positionals.length !== 1) throw new CliError('BadArguments', 'lineage: expected one model version (<group>/<version> or ARN) or endpoint name');
      const lineage = lineageFrom(await getStatus(await targetOf(values)), positionals[0]!);
      process.stdout.write(`${values.json ? JSON.stringify(lineage, null, 2) : formatLineage(lineage)}\n`);
      return 0;
    }
    case 'logs': {
      const { values, positionals } = parse(rest, { follow: { type: 'boolean' }, step: { type: 'string' } });
      if (positionals.length !== 1) throw new CliError('BadArguments', 'logs: expected one run (execution ARN or <state machine>/<execution>), SageMaker job or endpoint name');
      const reference = positionals[0]!;
      const time = (line: LogLine) => new Date(line.timestamp).toISOString();
      const print = (text: string) => process.stdout.write(`${text}\n`);
      if (isRunReference(reference)) {
        const format = (line: RunLogLine) => `${line.step.padEnd(16)} ${time(line)}  ${line.message}`;
        if (values.follow) {
          const status = await followRunLogs(await targetOf(values), reference, values.step, (line) => print(values.json ? JSON.stringify(line) : format(line)));
          progress(`run ${status}`);
          return 0;
        }
        const logs = await readRunLogs(await targetOf(values), reference, values.step);
        const notes = logs.jobs.filter((job) => job.cachedFrom || job.reusedFrom).map((job) => `(${job.step}: no job in this run, ${job.cachedFrom ? `cached from ${job.cachedFrom}` : `reused from ${job.reusedFrom}`})`);
        answer(values.json, logs, [...logs.lines.map(format), ...notes].join('\n') || `(no job output yet; the run is ${logs.status})`);
        return 0;
      }
      if (values.step) throw new CliError('BadArguments', 'logs: --step names a step of a run: give the run (execution ARN or <state machine>/<execution>), not a job or endpoint');
      const format = (line: LogLine) => `${time(line)} ${line.stream}  ${line.message}`;
      if (values.follow) {
        // One line at a time as they arrive (JSON Lines with --json), until the job ends.
        await followJobLogs(await targetOf(values), reference, (line) => print(values.json ? JSON.stringify(line) : format(line)));
        return 0;
      }
      const lines = await readLogs(await targetOf(values), reference);
      answer(values.json, { lines }, lines.map(format).join('\n'));
      return 0;
    }
    case 'run': {
      const { values, positionals } = parse(rest, {
        branch: { type: 'string' },
        commit: { type: 'string' },
        param: { type: 'string', multiple: true },
        'from-step': { type: 'string' },
        source: { type: 'string' },
        bus: { type: 'string' },
        wait: { type: 'boolean' },
      });
      if (positionals.length !== 1) throw new CliError('BadArguments', 'run: expected one repository');
      const target = withBus(await targetOf(values), values.bus);
      const request = {
        repository: positionals[0]!,
        ...(values.branch ? { branch: values.branch } : {}),
        ...(values.commit ? { commit: values.commit } : {}),
        parameters: parseParameters(values.param ?? []),
        ...(values['from-step'] ? { fromStep: values['from-step'] } : {}),
        ...(values.source ? { sourceExecutionArn: executionArnOf(values.source, target) } : {}),
      };
      const requestId = await requestBuild(target, request);
      if (!values.wait) {
        answer(values.json, { requestId, ...request }, `Build requested for ${request.repository}@${request.commit ?? values.branch ?? 'main'} (request ${requestId}); follow it with "sluice status", or ask again with --wait`);
        return 0;
      }
      progress(`build requested for ${request.repository}@${request.commit ?? values.branch ?? 'main'} (request ${requestId}); waiting for its run`);
      const executionArn = await findRequestedRun(target, request.repository, requestId);
      progress(`run ${executionArn.split(':').slice(-2).join('/')} started`);
      return ended(values.json, await waitForRun(target, executionArn, progress), executionArn);
    }
    case 'retry': {
      const { values, positionals } = parse(rest, { wait: { type: 'boolean' } });
      if (positionals.length !== 1) throw new CliError('BadArguments', 'retry: expected one run (execution ARN or <state machine>/<execution>)');
      const target = await targetOf(values);
      const retried = await retryRun(target, positionals[0]!);
      if (!values.wait) {
        answer(values.json, retried, `Retrying ${retried.executionArn} from its failed step (redrive ${retried.redriveCount}); follow it with "sluice status", or ask again with --wait`);
        return 0;
      }
      progress(`retrying ${retried.executionArn} from its failed step (redrive ${retried.redriveCount})`);
      return ended(values.json, await waitForRun(target, retried.executionArn, progress), retried.executionArn);
    }
    case 'dashboard': {
      const { values, positionals } = parse(rest, { port: { type: 'string' } });
      if (positionals.length !== 0) throw new CliError('BadArguments', `dashboard: unexpected argument "${positionals[0]}"`);
      const port = values.port === undefined ? DEFAULT_DASHBOARD_PORT : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('BadArguments', `--port: expected 0-65535, got "${values.port}"`);
      const server = await serveDashboard({ backend: cliBackend(await targetOf(values)), port });
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
