import { createModelPackage, ensureModelPackageGroup } from '../aws/sagemaker';
import { modelPackageGroupName, shortHash } from '../naming';
import type { RegisterModelInput } from '../schemas/task-inputs';
import type { ProductionVariantInstanceType, TransformInstanceType } from '@aws-sdk/client-sagemaker';

import { lineageTags, tagValue } from './job-requests';
import { reportUri } from './metric';

export interface Registration {
  modelPackageArn: string;
  modelPackageGroupName: string;
  modelApprovalStatus: string;
}

/**
 * Registers the trained model as a new version in its model package group (created if missing):
 * inference image and model data, ModelMetrics pointing at evaluation.json, the configured approval
 * status, and lineage (repository, branch, commit, execution ARN). Idempotent: the ClientToken is
 * derived from the execution, so a retried task returns the version it created the first time.
 * Throws RetryableError on throttling.
 */
export async function registerModel(input: RegisterModelInput, groupPrefix: string): Promise<Registration> {
  const { build, config, jobs, executionArn } = input;
  const register = config.Register;
  const group = modelPackageGroupName(groupPrefix, register.ModelPackageGroupName ?? build.repository);
  await ensureModelPackageGroup(group, `Models built by Sluice from ${build.repository}`, lineageTags(build, executionArn).slice(0, 1));
  const spec = register.InferenceSpecification;
  const metrics = jobs.train.finalMetrics.map((m) => `${m.MetricName}=${m.Value}`).join(', ');
  const modelPackageArn = await createModelPackage({
    ModelPackageGroupName: group,
    ModelPackageDescription: register.ModelPackageDescription ?? `${build.repository}@${build.commit.slice(0, 12)} (${build.branch}); ${input.config.QualityGate.Metric}=${input.gate.value}${metrics ? `; ${metrics}` : ''}`.slice(0, 1024),
    ClientToken: shortHash([executionArn, 'register'], 32),
    ModelApprovalStatus: register.ModelApprovalStatus,
    InferenceSpecification: {
      Containers: [
        {
          Image: spec.Image ?? config.Train.AlgorithmSpecification.TrainingImage,
          ModelDataUrl: jobs.train.modelArtifacts,
          Environment: spec.Environment,
        },
      ],
      SupportedContentTypes: spec.SupportedContentTypes,
      SupportedResponseMIMETypes: spec.SupportedResponseMIMETypes,
      // SageMaker validates these names; Sluice only passes them on.
      SupportedRealtimeInferenceInstanceTypes: spec.SupportedRealtimeInferenceInstanceTypes as ProductionVariantInstanceType[] | undefined,
      SupportedTransformInstanceTypes: spec.SupportedTransformInstanceTypes as TransformInstanceType[] | undefined,
    },
    ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: reportUri(input) } } },
    MetadataProperties: { Repository: build.repository.slice(0, 1024), CommitId: build.commit, GeneratedBy: executionArn },
    CustomerMetadataProperties: {
      'sluice:repository': tagValue(build.repository),
      'sluice:branch': tagValue(build.branch),
      'sluice:commit': tagValue(build.commit),
      'sluice:execution': tagValue(executionArn),
      'sluice:training-job': tagValue(jobs.train.jobName),
    },
    Tags: lineageTags(build, executionArn),
  });
  return { modelPackageArn, modelPackageGroupName: group, modelApprovalStatus: register.ModelApprovalStatus };
}
