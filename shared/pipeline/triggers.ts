import type { Target } from '@aws-sdk/client-eventbridge';

import { deleteRule, putScheduleRule } from '../aws/eventbridge';
import { deleteTriggerRecord, getTriggerRecord, openDebounceWindow, putTriggerRecord, queryTriggerRecords } from '../aws/dynamodb';
import { startNamedExecution } from '../aws/sfn';
import { matchesAny } from '../config';
import { shortHash, toSageMakerSlug } from '../naming';
import type { PipelineConfig } from '../schemas/mlops-v2';
import { stepFields } from './for-each';

/**
 * Builds that start without a push (README "Scheduled and data-arrival runs").
 *
 * Schedules: each push of a building branch makes the repository's EventBridge rule
 * `<service>-<stage>--schedule-<repository>-<hash>` match what it asks for (the stage's `schedules`
 * setting first, else mlops.yaml's `Triggers.Schedule`), or removes it. The rule's only target is
 * on-source-push itself, with an input transformer that turns each Scheduled Event into a
 * `Model Build Requested` of that repository and branch named by the event's id: a new run per
 * firing (the step cache makes unchanged steps free; the point of a schedule is fresh data), the
 * same run for a redelivered firing. The repository's file chooses the expression, never the
 * target, input or role.
 *
 * Data arrival: the same push records which datasets the pipeline reads (its steps' literal
 * `Dataset` inputs). An `Object Created` under `datasets/<name>/` then opens, per reading
 * repository and branch, a debounce window (a conditional write keyed by the event that opened it)
 * and starts one dataset-build execution, which waits out the window and requests the build:
 * files landing during the window are in that build, later ones open the next window.
 */

/** What the push path needs to keep a repository's triggers. */
export interface TriggerSettings {
  /** The trigger table (records of dataset readers and debounce windows). */
  table: string;
  /** `<service>-<stage>--schedule-`: every schedule rule's name starts with it (and IAM allows only those). */
  scheduleRulePrefix: string;
  /** on-source-push's own ARN: the schedule rules' target. */
  buildFunctionArn: string;
  /** The stage's `schedules` setting: repository (`*` wildcard) → expression; wins over mlops.yaml. */
  stageSchedules: Readonly<Record<string, string>>;
}

/** What on-dataset-change needs. */
export interface DatasetTriggerSettings {
  table: string;
  artifactsBucket: string;
  /** How long a window stays open: uploads within it go into the same build. */
  debounceSeconds: number;
  /** The dataset-build state machine (wait, then Model Build Requested). */
  stateMachineArn: string;
}

/** The input of the dataset-build state machine. */
export interface DatasetBuildInput {
  repository: string;
  branch: string;
  requestId: string;
  settleSeconds: number;
  dataset: string;
  key: string;
}

export const DATASETS_PREFIX = 'datasets/';
const SCHEDULE_TARGET_ID = 'build';
/** EventBridge rule names: 64 characters at most. */
const MAX_RULE_NAME = 64;

/** The schedule rule of a repository's branch: the prefix, the repository's slug and a hash of both names. Pure. */
export function scheduleRuleName(prefix: string, repository: string, branch: string): string {
  const room = Math.max(1, MAX_RULE_NAME - prefix.length - 9);
  return `${prefix}${toSageMakerSlug(repository, room)}-${shortHash([repository, branch], 8)}`;
}

/** The schedule a repository builds on: the stage's setting for it (exact name first, then patterns), else its file's; undefined for none. Pure. */
export function effectiveSchedule(repository: string, pipeline: PipelineConfig, stageSchedules: Readonly<Record<string, string>>): string | undefined {
  if (Object.hasOwn(stageSchedules, repository)) return stageSchedules[repository];
  const pattern = Object.keys(stageSchedules).find((key) => key.includes('*') && matchesAny(repository, [key]));
  return pattern === undefined ? pipeline.Triggers?.Schedule : stageSchedules[pattern];
}

/** A JSON string literal that cannot be read as an input-transformer placeholder (`<…>` escaped). Pure. */
function literal(text: string): string {
  return JSON.stringify(text).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
}

/**
 * The schedule rule's target: on-source-push, given a `Model Build Requested` of this repository's
 * branch whose request id is the firing's event id. Pure.
 */
export function scheduleTarget(functionArn: string, repository: string, branch: string): Target {
  return {
    Id: SCHEDULE_TARGET_ID,
    Arn: functionArn,
    InputTransformer: {
      InputPathsMap: { id: '$.id', time: '$.time', account: '$.account', region: '$.region' },
      InputTemplate:
        '{"version":"0","id":"<id>","detail-type":"Model Build Requested","source":"sluice","account":"<account>","time":"<time>","region":"<region>","resources":["<aws.events.rule-arn>"],' +
        `"detail":{"repository":${literal(repository)},"branch":${literal(branch)},"requestId":"schedule-<id>"}}`,
    },
  };
}

/** The dataset name (first path segment) and the key relative to `datasets/` of an object key; undefined outside datasets/. Pure. */
export function datasetOfKey(key: string): { name: string; relative: string } | undefined {
  if (!key.startsWith(DATASETS_PREFIX)) return undefined;
  const relative = key.slice(DATASETS_PREFIX.length);
  const name = relative.split('/')[0] ?? '';
  return name === '' ? undefined : { name, relative };
}

/**
 * The datasets a pipeline reads: dataset name → the `Dataset` keys its steps give (an input or
 * channel written as a literal; one chosen by a parameter is not known before a run). Pure.
 */
export function datasetsRead(pipeline: PipelineConfig): Map<string, string[]> {
  const read = new Map<string, string[]>();
  for (const [, step] of stepFields(pipeline)) {
    const sources: ({ Dataset: unknown } | { From: string })[] =
      step.Type === 'Processing'
        ? Object.values(step.Inputs)
        : step.Type === 'Training'
          ? Object.values(step.Channels)
          : step.Type === 'Tuning'
            ? Object.values(step.TrainingJobDefinition.Channels)
            : step.Type === 'Transform'
              ? [step.TransformInput.DataSource]
              : [];
    for (const source of sources) {
      if (!('Dataset' in source) || typeof source.Dataset !== 'string') continue;
      const found = datasetOfKey(`${DATASETS_PREFIX}${source.Dataset}`);
      if (!found) continue;
      read.set(found.name, [...new Set([...(read.get(found.name) ?? []), source.Dataset])]);
    }
  }
  return read;
}

const readerKey = (repository: string, branch: string) => `${repository}/${branch}`;

/**
 * Makes a repository branch's triggers what its pipeline (and the stage) asks for: the schedule
 * rule put or removed, the datasets it reads recorded and those it no longer reads forgotten.
 * Called on a push, before the build starts. Idempotent. Throws RetryableError on throttling.
 */
export async function syncTriggers(repository: string, branch: string, commit: string, pipeline: PipelineConfig, settings: TriggerSettings, now = new Date()): Promise<void> {
  const rule = scheduleRuleName(settings.scheduleRulePrefix, repository, branch);
  const schedule = effectiveSchedule(repository, pipeline, settings.stageSchedules);
  if (schedule) await putScheduleRule(rule, schedule, `Sluice: build ${repository}@${branch} on ${schedule}`, scheduleTarget(settings.buildFunctionArn, repository, branch));
  else await deleteRule(rule, [SCHEDULE_TARGET_ID]);

  const read = pipeline.Triggers?.DataArrival === false ? new Map<string, string[]>() : datasetsRead(pipeline);
  const previous = await getTriggerRecord(settings.table, `repository#${repository}`, branch);
  for (const name of (previous?.datasets as string[] | undefined) ?? []) {
    if (!read.has(name)) await deleteTriggerRecord(settings.table, `dataset#${name}`, readerKey(repository, branch));
  }
  for (const [name, paths] of read) {
    await putTriggerRecord(settings.table, { pk: `dataset#${name}`, sk: readerKey(repository, branch), repository, branch, paths, commit, updatedAt: now.toISOString() });
  }
  await putTriggerRecord(settings.table, { pk: `repository#${repository}`, sk: branch, datasets: [...read.keys()], schedule: schedule ?? null, scheduleRule: schedule ? rule : null, commit, updatedAt: now.toISOString() });
}

/** One object created, as on-dataset-change reads it from S3's event. */
export interface ObjectCreated {
  eventId: string;
  /** The event's time (ISO 8601): windows are measured from it, so a redelivery decides the same. */
  time: string;
  bucket: string;
  key: string;
}

export type DatasetOutcome = { action: 'ignored'; reason: string } | { action: 'handled'; started: string[]; debounced: string[] };

/**
 * An object created under `datasets/<name>/`: for every repository branch that reads what it
 * landed under, opens a debounce window (or finds one open) and, when this event opened it, starts
 * the dataset-build execution that requests the build once the window closes. Idempotent: a
 * redelivered event finds its own window and its execution already started.
 * Throws RetryableError on throttling.
 */
export async function requestDatasetBuilds(object: ObjectCreated, settings: DatasetTriggerSettings): Promise<DatasetOutcome> {
  if (object.bucket !== settings.artifactsBucket) return { action: 'ignored', reason: `bucket ${object.bucket} is not the stage's artifacts bucket` };
  const dataset = datasetOfKey(object.key);
  if (!dataset || object.key.endsWith('/')) return { action: 'ignored', reason: `${object.key} is not an object under a dataset` };
  const now = Math.floor(Date.parse(object.time) / 1000);
  const started: string[] = [];
  const debounced: string[] = [];
  for (const reader of await queryTriggerRecords(settings.table, `dataset#${dataset.name}`)) {
    const { repository, branch, paths } = reader as unknown as { repository: string; branch: string; paths: string[] };
    if (!paths.some((path) => dataset.relative.startsWith(path))) continue;
    const name = readerKey(repository, branch);
    const requestId = `data-${shortHash([repository, branch, dataset.name, object.eventId], 16)}`;
    const opened = await openDebounceWindow(
      settings.table,
      { pk: `debounce#${dataset.name}`, sk: name, windowEndsAt: now + settings.debounceSeconds, openedBy: object.eventId, requestId, expiresAt: now + settings.debounceSeconds + 86_400 },
      now,
    );
    if (!opened) {
      debounced.push(name);
      continue;
    }
    const input: DatasetBuildInput = { repository, branch, requestId, settleSeconds: settings.debounceSeconds, dataset: dataset.name, key: object.key };
    await startNamedExecution(settings.stateMachineArn, `${toSageMakerSlug(repository, 40)}-${requestId}`, input);
    started.push(name);
  }
  return { action: 'handled', started, debounced };
}
