import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  CreateHyperParameterTuningJobRequest$,
  CreateModelPackageInput$,
  CreateProcessingJobRequest$,
  CreateTrainingJobRequest$,
  CreateTransformJobRequest$,
} from '@aws-sdk/client-sagemaker';
import { NormalizedSchema } from '@smithy/core/schema';
import { parse } from 'yaml';

import { InvalidConfigError } from '../../../shared/errors';
import { ackFieldName, type AckKind, convertAckManifest, parseAckManifest } from '../../../shared/pipeline/ack-manifests';

// Real manifests of the ACK SageMaker controller: see tests/fixtures/ack/SOURCES.md.
const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'ack');
const MANIFESTS: Record<string, AckKind> = {
  'kmeans_processingjob.yaml': 'ProcessingJob',
  'xgboost_trainingjob.yaml': 'TrainingJob',
  'xgboost_trainingjob_debugger.yaml': 'TrainingJob',
  'xgboost_hpojob.yaml': 'HyperParameterTuningJob',
  'xgboost_transformjob.yaml': 'TransformJob',
  'my-batch-transform-job.yaml': 'TransformJob',
  'xgboost_versioned_model_package.yaml': 'ModelPackage',
  'my-model-package.yaml': 'ModelPackage',
};
const SCHEMAS: Record<AckKind, NormalizedSchema> = {
  ProcessingJob: NormalizedSchema.of(CreateProcessingJobRequest$),
  TrainingJob: NormalizedSchema.of(CreateTrainingJobRequest$),
  HyperParameterTuningJob: NormalizedSchema.of(CreateHyperParameterTuningJobRequest$),
  TransformJob: NormalizedSchema.of(CreateTransformJobRequest$),
  ModelPackage: NormalizedSchema.of(CreateModelPackageInput$),
};

function text(file: string): string {
  return readFileSync(join(FIXTURES, file), 'utf8');
}

function manifest(file: string): Record<string, unknown> {
  return parse(text(file)) as Record<string, unknown>;
}

function convert(file: string) {
  return parseAckManifest(text(file), file);
}

/** The leaf values of a parsed manifest or request, by path (list indices kept, keys as written). */
function leaves(value: unknown, at = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (Array.isArray(value)) value.forEach((item, index) => leaves(item, `${at}[${index}]`).forEach((v, k) => out.set(k, v)));
  else if (typeof value === 'object' && value !== null) Object.entries(value).forEach(([key, item]) => leaves(item, `${at}.${key}`).forEach((v, k) => out.set(k, v)));
  else out.set(at, value);
  return out;
}

/** Every key of an ACK spec, with the API member the schema gives it, walking maps' values but not their keys. */
function keysWithMembers(value: unknown, schema: NormalizedSchema, at: string, out: Array<{ at: string; key: string; member: string | undefined }>): void {
  if (schema.isListSchema() && Array.isArray(value)) value.forEach((item, index) => keysWithMembers(item, schema.getValueSchema(), `${at}[${index}]`, out));
  else if (schema.isMapSchema() && typeof value === 'object' && value !== null) Object.entries(value).forEach(([key, item]) => keysWithMembers(item, schema.getValueSchema(), `${at}.${key}`, out));
  else if (schema.isStructSchema() && typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const member = [...schema.structIterator()].find(([name]) => ackFieldName(name) === key)?.[0];
      out.push({ at, key, member });
      if (member) keysWithMembers(item, schema.getMemberSchema(member)!, `${at}.${key}`, out);
    }
  }
}

/** The spec property paths a CRD declares (`transformInput.dataSource.s3DataSource.s3URI`, lists as `tags[]`). */
function crdSpecFields(crd: unknown): Array<{ path: string; type: string }> {
  const root = (crd as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: unknown } } } }> } }).spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
  const out: Array<{ path: string; type: string }> = [];
  const walk = (node: { type: string; properties?: Record<string, unknown>; items?: unknown }, at: string): void => {
    if (node.properties) for (const [key, child] of Object.entries(node.properties)) walk(child as typeof node, at === '' ? key : `${at}.${key}`);
    else if (node.type === 'array' && node.items) walk(node.items as typeof node, `${at}[]`);
    else out.push({ path: at, type: node.type });
  };
  walk(root as { type: string; properties: Record<string, unknown> }, '');
  return out;
}

describe('ackFieldName', () => {
  it.each([
    ['RoleArn', 'roleARN'],
    ['S3Uri', 's3URI'],
    ['ImageUri', 'imageURI'],
    ['VolumeSizeInGB', 'volumeSizeInGB'],
    ['KmsKeyId', 'kmsKeyID'],
    ['VolumeKmsKeyId', 'volumeKMSKeyID'],
    ['VpcConfig', 'vpcConfig'],
    ['SecurityGroupIds', 'securityGroupIDs'],
    ['ModelDataUrl', 'modelDataURL'],
    ['SupportedResponseMIMETypes', 'supportedResponseMIMETypes'],
    ['MaxPayloadInMB', 'maxPayloadInMB'],
    ['Type', 'type_'],
    ['UiConfig', 'uiConfig'],
    ['IdleTimeoutInSeconds', 'idleTimeoutInSeconds'],
  ])('spells %s as ACK does: %s', (api, ack) => {
    expect(ackFieldName(api)).toBe(ack);
  });

  it('gives every field of the ACK TransformJob CRD from the CreateTransformJob request shape', () => {
    // Prepare
    const fields = crdSpecFields(parse(text('sagemaker.services.k8s.aws_transformjobs.yaml')));
    // Act: follow each CRD path through the API shape by ACK's spelling of each member.
    const unmatched = fields.filter(({ path }) => {
      let schema = SCHEMAS.TransformJob;
      for (const segment of path.split('.')) {
        const [name = '', list] = segment.split('[');
        const member = [...schema.structIterator()].find(([api]) => ackFieldName(api) === name)?.[0];
        if (!member) return true;
        schema = schema.getMemberSchema(member)!;
        if (list !== undefined) schema = schema.getValueSchema();
      }
      return false;
    });
    // Assess
    expect(fields.length).toBeGreaterThan(25);
    expect(unmatched).toEqual([]);
  });

  it.each(Object.entries(MANIFESTS))('gives every key of %s from its request shape', (file, kind) => {
    const found: Array<{ at: string; key: string; member: string | undefined }> = [];
    keysWithMembers(manifest(file).spec, SCHEMAS[kind], 'spec', found);
    expect(found.length).toBeGreaterThan(3);
    expect(found.filter(({ member }) => member === undefined)).toEqual([]);
  });
});

describe('parseAckManifest on the ACK controller\'s own manifests', () => {
  it.each(Object.entries(MANIFESTS))('maps every field of %s or says it ignored it', (file, kind) => {
    // Act
    const result = convert(file);
    // Assess: each leaf of the spec is in the request (under the API's name) or under an ignored path.
    expect(result.kind).toBe(kind);
    const spec = leaves(manifest(file).spec, 'spec');
    const kept = [...spec.keys()].filter((path) => !result.ignored.some((ignored) => path === ignored || path.startsWith(`${ignored}.`) || path.startsWith(`${ignored}[`)));
    const request = leaves(result.request, 'spec');
    expect(request.size).toBe(kept.length);
    expect([...request.values()].sort()).toEqual(kept.map((path) => spec.get(path)).sort());
    expect(result.warnings).toHaveLength(result.ignored.length);
    result.ignored.forEach((path, index) => expect(result.warnings[index]).toContain(`${path} is ignored`));
  });

  it('converts the training job field by field, leaving name, role, output and tags to the stage', () => {
    const result = convert('xgboost_trainingjob.yaml');
    expect(result.request).toEqual({
      HyperParameters: { max_depth: '5', gamma: '4', eta: '0.2', min_child_weight: '6', silent: '0', objective: 'multi:softmax', num_class: '10', num_round: '10' },
      AlgorithmSpecification: { TrainingImage: '$XGBOOST_IMAGE_URI', TrainingInputMode: 'File' },
      OutputDataConfig: {},
      ResourceConfig: { InstanceCount: 1, InstanceType: '$TRAINING_JOB_INSTANCE_TYPE', VolumeSizeInGB: 5 },
      RetryStrategy: { MaximumRetryAttempts: 4 },
      StoppingCondition: { MaxRuntimeInSeconds: 86400 },
      InputDataConfig: [
        {
          ChannelName: 'train',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://$SAGEMAKER_DATA_BUCKET/sagemaker/training/train', S3DataDistributionType: 'FullyReplicated' } },
          ContentType: 'text/csv',
          CompressionType: 'None',
        },
        {
          ChannelName: 'validation',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://$SAGEMAKER_DATA_BUCKET/sagemaker/training/validation', S3DataDistributionType: 'FullyReplicated' } },
          ContentType: 'text/csv',
          CompressionType: 'None',
        },
      ],
    });
    expect(result.ignored).toEqual(['spec.trainingJobName', 'spec.roleARN', 'spec.outputDataConfig.s3OutputPath', 'spec.tags']);
    expect(result.name).toBe('$TRAINING_JOB_NAME');
  });

  it('converts the processing job field by field, keeping inputs and dropping output locations', () => {
    const { request, ignored } = convert('kmeans_processingjob.yaml');
    expect(request).toEqual({
      Environment: { my_var: 'my_value', my_var2: 'my_value2' },
      AppSpecification: { ImageUri: '$PYTORCH_TRAIN_IMAGE_URI', ContainerEntrypoint: ['python', '/opt/ml/processing/code/kmeans_preprocessing.py'] },
      ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 20 } },
      ProcessingInputs: [
        {
          InputName: 'mnist_tar',
          S3Input: { S3Uri: 's3://$SAGEMAKER_DATA_BUCKET/sagemaker/processing/algorithms/kmeans/mnist/mnist.pkl.gz', LocalPath: '/opt/ml/processing/input', S3DataType: 'S3Prefix', S3InputMode: 'File', S3CompressionType: 'None' },
        },
        {
          InputName: 'source_code',
          S3Input: { S3Uri: 's3://$SAGEMAKER_DATA_BUCKET/sagemaker/processing/kmeans_preprocessing.py', LocalPath: '/opt/ml/processing/code', S3DataType: 'S3Prefix', S3InputMode: 'File', S3CompressionType: 'None' },
        },
      ],
      ProcessingOutputConfig: {
        Outputs: [
          { OutputName: 'train_data', S3Output: { LocalPath: '/opt/ml/processing/output_train/', S3UploadMode: 'EndOfJob' } },
          { OutputName: 'test_data', S3Output: { LocalPath: '/opt/ml/processing/output_test/', S3UploadMode: 'EndOfJob' } },
          { OutputName: 'valid_data', S3Output: { LocalPath: '/opt/ml/processing/output_valid/', S3UploadMode: 'EndOfJob' } },
        ],
      },
    });
    expect(ignored).toEqual([
      'spec.processingJobName',
      'spec.roleARN',
      'spec.processingOutputConfig.outputs[0].s3Output.s3URI',
      'spec.processingOutputConfig.outputs[1].s3Output.s3URI',
      'spec.processingOutputConfig.outputs[2].s3Output.s3URI',
      'spec.tags',
    ]);
  });

  it('converts the tuning job, its objective\'s type_ to Type and the training definition without role or isolation', () => {
    const { request, ignored } = convert('xgboost_hpojob.yaml');
    expect(request).toEqual({
      HyperParameterTuningJobConfig: {
        Strategy: 'Bayesian',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:error' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 2 },
        ParameterRanges: {
          IntegerParameterRanges: [{ Name: 'num_round', MinValue: '10', MaxValue: '20', ScalingType: 'Linear' }],
          ContinuousParameterRanges: [],
          CategoricalParameterRanges: [],
        },
        TrainingJobEarlyStoppingType: 'Auto',
      },
      TrainingJobDefinition: {
        StaticHyperParameters: { base_score: '0.5' },
        AlgorithmSpecification: { TrainingImage: '$XGBOOST_IMAGE_URI', TrainingInputMode: 'File' },
        InputDataConfig: ['train', 'validation/'].map((channel) => ({
          ChannelName: channel.replace('/', ''),
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://$SAGEMAKER_DATA_BUCKET/sagemaker/training/${channel}`, S3DataDistributionType: 'FullyReplicated' } },
          ContentType: 'text/csv',
          CompressionType: 'None',
          RecordWrapperType: 'None',
          InputMode: 'File',
        })),
        OutputDataConfig: {},
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 25 },
        StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      },
    });
    expect(ignored).toEqual([
      'spec.hyperParameterTuningJobName',
      'spec.trainingJobDefinition.roleARN',
      'spec.trainingJobDefinition.outputDataConfig.s3OutputPath',
      'spec.trainingJobDefinition.enableNetworkIsolation',
      'spec.trainingJobDefinition.enableInterContainerTrafficEncryption',
      'spec.tags',
    ]);
  });

  it('converts the transform job, leaving the model and the output path to the step', () => {
    const { request, ignored } = convert('xgboost_transformjob.yaml');
    expect(request).toEqual({
      TransformInput: { ContentType: 'text/csv', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://$SAGEMAKER_DATA_BUCKET/sagemaker/batch/input-data' } } },
      TransformOutput: {},
      TransformResources: { InstanceCount: 1, InstanceType: 'ml.m5.large' },
    });
    expect(ignored).toEqual(['spec.transformJobName', 'spec.modelName', 'spec.transformOutput.s3OutputPath', 'spec.tags']);
  });

  it('converts the versioned model package, keeping its group and approval for the RegisterModel step', () => {
    const { request, ignored } = convert('xgboost_versioned_model_package.yaml');
    expect(request).toEqual({
      ModelPackageGroupName: '$MODEL_PACKAGE_GROUP_NAME',
      ModelPackageDescription: 'Description for model package',
      InferenceSpecification: {
        Containers: [{ Image: '$XGBOOST_V1_IMAGE_URI', ModelDataUrl: 's3://$SAGEMAKER_DATA_BUCKET/sagemaker/model/xgboost-mnist-model.tar.gz' }],
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
        SupportedTransformInstanceTypes: ['ml.m5.large'],
        SupportedRealtimeInferenceInstanceTypes: ['ml.m5.large'],
      },
      ValidationSpecification: {
        ValidationProfiles: [
          {
            ProfileName: 'Test-Model-Package',
            TransformJobDefinition: {
              TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://$SAGEMAKER_DATA_BUCKET/sagemaker/batch/input-data' } }, ContentType: 'text/csv' },
              TransformOutput: {},
              TransformResources: { InstanceCount: 1, InstanceType: 'ml.m5.large' },
            },
          },
        ],
      },
      ModelApprovalStatus: 'PendingManualApproval',
    });
    expect(ignored).toEqual([
      'spec.validationSpecification.validationRole',
      'spec.validationSpecification.validationProfiles[0].transformJobDefinition.transformOutput.s3OutputPath',
    ]);
  });

  it('ignores an unversioned model package\'s name: versions go to the pipeline\'s group', () => {
    const { request, warnings } = convert('my-model-package.yaml');
    expect(request).not.toHaveProperty('ModelPackageName');
    expect(warnings).toEqual(['spec.modelPackageName is ignored: versions are created in the pipeline\'s model package group']);
  });

  it('keeps the debugger\'s rules and hooks but not their output paths', () => {
    const { request, ignored } = convert('xgboost_trainingjob_debugger.yaml');
    expect(request).toMatchObject({
      DebugHookConfig: { CollectionConfigurations: expect.arrayContaining([{ CollectionName: 'losses', CollectionParameters: { name: 'save_interval', value: '500' } }]) },
      DebugRuleConfigurations: [{ RuleConfigurationName: 'LossNotDecreasing', RuleEvaluatorImage: '$DEBUGGER_IMAGE_URI', RuleParameters: { collection_names: 'metrics', num_steps: '10', rule_to_invoke: 'LossNotDecreasing' } }],
      ProfilerConfig: { ProfilingIntervalInMilliseconds: 500 },
    });
    expect(ignored).toEqual(expect.arrayContaining(['spec.debugHookConfig.s3OutputPath', 'spec.profilerConfig.s3OutputPath']));
  });
});

describe('stage-owned fields a manifest may not set', () => {
  it('refuses a VPC config and KMS keys anywhere in the spec, naming each path', () => {
    // Prepare
    const tuning = manifest('xgboost_hpojob.yaml');
    const spec = tuning.spec as Record<string, Record<string, unknown>>;
    spec.trainingJobDefinition!.vpcConfig = { securityGroupIDs: ['sg-0123'], subnets: ['subnet-0123'] };
    spec.trainingJobDefinition!.outputDataConfig = { s3OutputPath: 's3://elsewhere/', kmsKeyID: 'alias/theirs' };
    // Act / Assess
    expect(() => convertAckManifest(tuning, 'tuning.yaml')).toThrow(InvalidConfigError);
    expect(() => convertAckManifest(tuning, 'tuning.yaml')).toThrow(
      'tuning.yaml: spec.trainingJobDefinition.outputDataConfig.kmsKeyID: not allowed in a manifest: encryption keys come from the stage\'s isolation settings; remove it from the manifest; '
      + 'spec.trainingJobDefinition.vpcConfig: not allowed in a manifest: networking comes from the stage\'s isolation settings; remove it from the manifest',
    );
  });

  it('refuses every KMS key the TransformJob CRD declares', () => {
    const transform = manifest('xgboost_transformjob.yaml');
    const spec = transform.spec as Record<string, Record<string, unknown>>;
    spec.transformOutput!.kmsKeyID = 'alias/out';
    spec.transformResources!.volumeKMSKeyID = 'alias/volume';
    expect(() => convertAckManifest(transform, 'transform.yaml')).toThrow(/spec\.transformOutput\.kmsKeyID: not allowed.*spec\.transformResources\.volumeKMSKeyID: not allowed/);
  });
});

describe('processing inputs and outputs the stage cannot serve', () => {
  it('refuses an Athena dataset input, a Feature Store output and a VPC in the network config', () => {
    const processing = manifest('kmeans_processingjob.yaml');
    const spec = processing.spec as Record<string, Array<Record<string, unknown>> & Record<string, unknown>>;
    spec.processingInputs!.push({ inputName: 'athena', datasetDefinition: { athenaDatasetDefinition: { catalog: 'c', database: 'd', queryString: 'SELECT 1', outputS3URI: 's3://q/', outputFormat: 'PARQUET' }, localPath: '/opt/ml/processing/athena' } });
    (spec.processingOutputConfig as unknown as { outputs: unknown[] }).outputs.push({ outputName: 'features', featureStoreOutput: { featureGroupName: 'g' } });
    (spec as Record<string, unknown>).networkConfig = { enableNetworkIsolation: true, vpcConfig: { securityGroupIDs: ['sg-1'], subnets: ['subnet-1'] } };
    expect(() => convertAckManifest(processing, 'p.yaml')).toThrow(
      /spec\.processingInputs\[2\]\.datasetDefinition: not allowed .*Athena.*spec\.processingOutputConfig\.outputs\[3\]\.featureStoreOutput: not allowed .*spec\.networkConfig\.vpcConfig: not allowed/,
    );
  });
});

describe('invalid manifests', () => {
  it('names the apiVersion it expects', () => {
    const wrong = { ...manifest('xgboost_trainingjob.yaml'), apiVersion: 'sagemaker.aws.amazon.com/v1' };
    expect(() => convertAckManifest(wrong, 'train.yaml')).toThrow('train.yaml: apiVersion: expected "sagemaker.services.k8s.aws/v1alpha1", got string "sagemaker.aws.amazon.com/v1"');
  });

  it('names the kinds it accepts', () => {
    const endpoint = { ...manifest('xgboost_trainingjob.yaml'), kind: 'Endpoint' };
    expect(() => convertAckManifest(endpoint, 'endpoint.yaml')).toThrow('kind: expected one of ProcessingJob, TrainingJob, HyperParameterTuningJob, TransformJob, ModelPackage, got string "Endpoint"');
  });

  it('says when the spec is missing', () => {
    const { spec: _spec, ...rest } = manifest('xgboost_trainingjob.yaml');
    expect(() => convertAckManifest(rest, 'train.yaml')).toThrow('train.yaml: spec: missing');
  });

  it('names an unknown field\'s path and the fields its parent has', () => {
    const training = manifest('xgboost_trainingjob.yaml');
    (training.spec as Record<string, Record<string, unknown>>).resourceConfig!.instanceCnt = 2;
    expect(() => convertAckManifest(training, 'train.yaml')).toThrow(/^train\.yaml: spec\.resourceConfig\.instanceCnt: unknown field \(ResourceConfig has instanceType, instanceCount, volumeSizeInGB, volumeKMSKeyID/);
  });

  it('names a value of the wrong type with what it expected', () => {
    const training = manifest('xgboost_trainingjob.yaml');
    const spec = training.spec as Record<string, unknown>;
    (spec.resourceConfig as Record<string, unknown>).instanceCount = '1';
    (spec.hyperParameters as Record<string, unknown>).max_depth = 5;
    spec.inputDataConfig = { channelName: 'train' };
    expect(() => convertAckManifest(training, 'train.yaml')).toThrow(
      'train.yaml: spec.hyperParameters.max_depth: expected a string, got number 5; spec.resourceConfig.instanceCount: expected a number, got string "1"; spec.inputDataConfig: expected a list, got an object',
    );
  });

  it('names an unknown top-level key, and ignores a status copied from a cluster with a warning', () => {
    expect(() => convertAckManifest({ ...manifest('xgboost_transformjob.yaml'), data: {} }, 't.yaml')).toThrow('t.yaml: data: unknown field (a manifest has apiVersion, kind, metadata, spec)');
    const { warnings } = convertAckManifest({ ...manifest('xgboost_transformjob.yaml'), status: { transformJobStatus: 'Completed' } }, 't.yaml');
    expect(warnings[0]).toBe('status is ignored: it is what a cluster observed, not part of the request');
  });

  it('wants exactly one YAML document, and says where the YAML is broken', () => {
    const training = text('xgboost_trainingjob.yaml');
    expect(() => parseAckManifest(`${training}\n---\n${text('xgboost_transformjob.yaml')}`, 'two.yaml')).toThrow('two.yaml: expected one YAML document, found 2');
    expect(() => parseAckManifest('', 'empty.yaml')).toThrow('empty.yaml: expected one YAML document, found 0');
    expect(() => parseAckManifest('spec: [unclosed', 'broken.yaml')).toThrow(/^broken\.yaml: not valid YAML: /);
  });

  it('accepts a key in the API\'s own spelling, since ACK\'s differs from it only in case', () => {
    const transform = manifest('xgboost_transformjob.yaml');
    (transform.spec as Record<string, unknown>).MaxPayloadInMB = 6;
    expect(convertAckManifest(transform, 't.yaml').request).toMatchObject({ MaxPayloadInMB: 6 });
  });

  it('leaves out a field written with no value, as Kubernetes does', () => {
    const transform = manifest('xgboost_transformjob.yaml');
    (transform.spec as Record<string, unknown>).batchStrategy = null;
    expect(convertAckManifest(transform, 't.yaml').request).not.toHaveProperty('BatchStrategy');
  });
});

describe('required fields', () => {
  it('names a field the API requires and the stage does not supply', () => {
    const transform = manifest('xgboost_transformjob.yaml');
    const spec = transform.spec as Record<string, Record<string, unknown>>;
    delete spec.transformResources;
    delete (spec.transformInput!.dataSource as Record<string, Record<string, unknown>>).s3DataSource!.s3URI;
    expect(() => convertAckManifest(transform, 't.yaml')).toThrow('t.yaml: spec.transformInput.dataSource.s3DataSource.s3URI: required; spec.transformResources: required');
  });

  it('does not ask for what the stage supplies: name, role, model, output locations', () => {
    const transform = manifest('xgboost_transformjob.yaml');
    const spec = transform.spec as Record<string, unknown>;
    delete spec.transformJobName;
    delete spec.modelName;
    delete spec.transformOutput;
    const training = manifest('xgboost_trainingjob.yaml');
    for (const field of ['trainingJobName', 'roleARN', 'outputDataConfig']) delete (training.spec as Record<string, unknown>)[field];
    expect(convertAckManifest(transform, 't.yaml').warnings).toEqual(['spec.tags is ignored: jobs are tagged with their lineage (repository, commit, run, step)']);
    expect(convertAckManifest(training, 'train.yaml').request).not.toHaveProperty('OutputDataConfig');
  });
});

describe('output locations at any depth', () => {
  it('ignores the checkpoint location of a tuning job\'s training definition', () => {
    const tuning = manifest('xgboost_hpojob.yaml');
    (tuning.spec as Record<string, Record<string, unknown>>).trainingJobDefinition!.checkpointConfig = { s3URI: 's3://elsewhere/checkpoints', localPath: '/opt/ml/checkpoints' };
    const { request, ignored } = convertAckManifest(tuning, 'tuning.yaml');
    expect(request).toHaveProperty('TrainingJobDefinition.CheckpointConfig', { LocalPath: '/opt/ml/checkpoints' });
    expect(ignored).toContain('spec.trainingJobDefinition.checkpointConfig.s3URI');
  });
});
