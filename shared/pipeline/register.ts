import { ModelApprovalStatus, type ProductionVariantInstanceType, type Tag, type TransformInstanceType } from '@aws-sdk/client-sagemaker';

import { getCacheEntry, putCacheEntry } from '../aws/dynamodb';
import { createModelPackage, describeModelPackage, ensureModelPackageGroup, listTags } from '../aws/sagemaker';
import { InvalidConfigError } from '../errors';
import { modelPackageGroupName, shortHash } from '../naming';
import { CONFIG_FILE } from '../schemas/patterns';
import type { RegisterResult, StepTaskInput } from '../schemas/task-inputs';
import { cacheKey, durationSeconds } from './cache';
import { findStep, itemStepName } from './for-each';
import { fromOutput, lineageTags, tagValue } from './job-requests';
import { loadPipeline, stepOf, valueContext } from './stored-pipeline';
import { GROUP_OWNER_TAG, maySelfApprove, type TenancyPolicy, tenancyIssues } from './tenancy';
import { propertyFileUri, resolveText } from './values';

/** Where register-model records and finds reusable registrations. */
export interface RegisterSettings extends TenancyPolicy {
  groupPrefix: string;
  cacheTable: string;
}

/**
 * A RegisterModel step: registers the trained model (a Training step's, or a Tuning step's best) as a new version in its model package group
 * (created if missing) — inference image and model data, ModelMetrics pointing at the step's
 * report, the configured approval status, and lineage (repository, branch, commit, execution,
 * training job). With `Cache`, a registration of the very same content (model artifacts, image,
 * report, settings) made earlier returns that version instead of a duplicate.
 * Idempotent: the ClientToken is derived from the execution and the step, so a retried task
 * returns the version it created the first time. Throws InvalidConfigError when a value cannot be
 * resolved, when the group is not the repository's (its name, or its sluice:repository tag) or the
 * stage does not let the repository approve its own versions; RetryableError on throttling.
 */
export async function registerModel(input: StepTaskInput, settings: RegisterSettings, now = new Date()): Promise<RegisterResult> {
  const { build, executionArn, step } = input;
  const carried = Object.hasOwn(input.reuse, step) ? input.reuse[step] : undefined;
  if (carried?.Type === 'RegisterModel') return carried;
  const pipeline = await loadPipeline(build.pipelineUri);
  const spec = stepOf(pipeline, step, ['RegisterModel'] as const);
  const ctx = valueContext(pipeline, input);
  const at = input.item ? `Steps.${input.item.forEach}.Steps.${step}` : `Steps.${step}`;
  // Inside a ForEach each item registers its own version: its own ClientToken and lineage.
  const runStep = itemStepName(step, input.item);
  // Checked at push too; again here, under the stage's settings of today.
  const claims = tenancyIssues([{ field: at, group: spec.ModelPackageGroupName, approval: spec.ModelApprovalStatus }], build.repository, maySelfApprove(build.repository, settings));
  if (claims.length > 0) throw new InvalidConfigError(`${CONFIG_FILE}: ${claims.join('; ')}`);
  const group = modelPackageGroupName(settings.groupPrefix, spec.ModelPackageGroupName ?? build.repository);
  const model = fromOutput(spec.ModelData.From, input.steps, `${at}.ModelData.From`);
  const training = input.steps[model.step];
  const trainingSpec = findStep(pipeline, model.step)?.spec;
  const inference = spec.InferenceSpecification;
  const image =
    inference.Image ??
    (trainingSpec?.Type === 'Training'
      ? await resolveText(trainingSpec.AlgorithmSpecification.TrainingImage, ctx, `Steps.${model.step}.AlgorithmSpecification.TrainingImage`)
      : trainingSpec?.Type === 'Tuning'
        ? await resolveText(trainingSpec.TrainingJobDefinition.AlgorithmSpecification.TrainingImage, ctx, `Steps.${model.step}.TrainingJobDefinition.AlgorithmSpecification.TrainingImage`)
        : undefined);
  const statistics = spec.ModelMetrics?.ModelQuality.Statistics.Get;
  const [, reportStep = '', reportFile = ''] = statistics ? (/^Steps\.([^.]+)\.PropertyFiles\.(.+)$/.exec(statistics) ?? []) : [];
  const reportUri = statistics ? propertyFileUri(ctx, reportStep, reportFile, `${at}.ModelMetrics.ModelQuality.Statistics.Get`) : undefined;
  const report = reportUri ? input.steps[reportStep] : undefined;
  const reportSpec = reportUri ? findStep(pipeline, reportStep)?.spec : undefined;
  const reportOutput = reportSpec?.Type === 'Processing' ? reportSpec.PropertyFiles.find((file) => file.PropertyFileName === reportFile)?.OutputName : undefined;

  // A description the file writes is part of the version; the default one (repository@commit) is lineage, not content.
  const description = spec.ModelPackageDescription === undefined ? undefined : await resolveText(spec.ModelPackageDescription, ctx, `${at}.ModelPackageDescription`);
  const key = spec.Cache
    ? cacheKey(build.repository, {
        description: description ?? null,
        kind: 'RegisterModel',
        group,
        image,
        model: model.hash ?? model.uri,
        report: report?.Type === 'Processing' && reportOutput ? { file: reportFile, content: report.OutputHashes[reportOutput] ?? null } : null,
        approval: spec.ModelApprovalStatus,
        inference,
      })
    : undefined;
  if (key && spec.Cache) {
    const entry = await getCacheEntry(settings.cacheTable, key);
    const fresh = entry && Math.floor(now.getTime() / 1000) - entry.createdAt <= durationSeconds(spec.Cache.ExpireAfter);
    const earlier = fresh ? (JSON.parse(entry.result) as RegisterResult) : undefined;
    // A version since deleted or rejected is not reused: this run registers a new one.
    const described = earlier ? await describeModelPackage(earlier.ModelPackageArn) : undefined;
    if (earlier && described && described.ModelApprovalStatus !== ModelApprovalStatus.REJECTED) return { ...earlier, CachedFrom: entry!.executionArn };
  }

  const owner: Tag = { Key: GROUP_OWNER_TAG, Value: tagValue(build.repository) };
  const ensured = await ensureModelPackageGroup(group, `Models built by Sluice from ${build.repository}`, [owner]);
  if (!ensured.created) {
    // Two repository names can make one group name (`a_b`, `a-b`): the owner tag decides.
    const found = (await listTags(ensured.arn)).find((tag) => tag.Key === GROUP_OWNER_TAG)?.Value;
    if (found !== owner.Value) {
      throw new InvalidConfigError(`${CONFIG_FILE}: ${at}.ModelPackageGroupName: model package group ${group} belongs to ${found === undefined ? 'no Sluice repository (no sluice:repository tag)' : `repository ${found}`}, not to ${build.repository}`);
    }
  }
  const metrics =
    training?.Type === 'Training'
      ? Object.entries(training.FinalMetrics).map(([name, value]) => `${name}=${value}`).join(', ')
      : training?.Type === 'Tuning'
        ? `${training.BestTrainingJob.ObjectiveMetricName}=${training.BestTrainingJob.FinalObjectiveValue} (best of tuning job ${training.HyperParameterTuningJobName})`
        : '';
  const trainingJob = training?.Type === 'Training' ? training.TrainingJobName : training?.Type === 'Tuning' ? training.BestTrainingJob.TrainingJobName : undefined;
  const modelPackageArn = await createModelPackage({
    ModelPackageGroupName: group,
    ModelPackageDescription: (description ?? `${build.repository}@${build.commit.slice(0, 12)} (${build.branch})${metrics ? `; ${metrics}` : ''}`).slice(0, 1024),
    ClientToken: shortHash([executionArn, runStep], 32),
    ModelApprovalStatus: spec.ModelApprovalStatus,
    InferenceSpecification: {
      Containers: [{ Image: image, ModelDataUrl: model.uri, Environment: inference.Environment }],
      SupportedContentTypes: inference.SupportedContentTypes,
      SupportedResponseMIMETypes: inference.SupportedResponseMIMETypes,
      // SageMaker validates these names; Sluice only passes them on.
      SupportedRealtimeInferenceInstanceTypes: inference.SupportedRealtimeInferenceInstanceTypes as ProductionVariantInstanceType[] | undefined,
      SupportedTransformInstanceTypes: inference.SupportedTransformInstanceTypes as TransformInstanceType[] | undefined,
    },
    ...(reportUri ? { ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: reportUri } } } } : {}),
    MetadataProperties: { Repository: build.repository.slice(0, 1024), CommitId: build.commit, GeneratedBy: executionArn },
    CustomerMetadataProperties: {
      'sluice:repository': tagValue(build.repository),
      'sluice:branch': tagValue(build.branch),
      'sluice:commit': tagValue(build.commit),
      'sluice:execution': tagValue(executionArn),
      'sluice:step': tagValue(runStep),
      ...(trainingJob === undefined ? {} : { 'sluice:training-job': tagValue(trainingJob) }),
      ...(training?.Type === 'Tuning' ? { 'sluice:tuning-job': tagValue(training.HyperParameterTuningJobName) } : {}),
    },
    Tags: lineageTags(build, executionArn, runStep),
  });
  const result: RegisterResult = { Type: 'RegisterModel', ModelPackageArn: modelPackageArn, ModelPackageGroupName: group, ModelApprovalStatus: spec.ModelApprovalStatus, CachedFrom: null };
  if (key && spec.Cache) {
    const createdAt = Math.floor(now.getTime() / 1000);
    await putCacheEntry(settings.cacheTable, { cacheKey: key, result: JSON.stringify(result), executionArn, step: runStep, createdAt, expiresAt: createdAt + durationSeconds(spec.Cache.ExpireAfter) });
  }
  return result;
}
