import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import {
  codePipelineJobSchema,
  DETAIL_TYPES,
  endpointStateChangeSchema,
  modelPackageStateChangeSchema,
  objectCreatedSchema,
  parseEvent,
  parseJobStateChange,
  processingJobStateChangeSchema,
  repositoryStateChangeSchema,
  scheduledEventSchema,
  trainingJobStateChangeSchema,
  transformJobStateChangeSchema,
  tuningJobStateChangeSchema,
} from '../../shared/schemas/events';
import type * as z from '../../shared/schemas/zod';
import { loadFixture, loadSample, ROOT } from '../helpers/fixtures';

const SCHEMAS: Record<string, z.ZodMiniType> = {
  [DETAIL_TYPES.repositoryStateChange]: repositoryStateChangeSchema,
  [DETAIL_TYPES.trainingJobStateChange]: trainingJobStateChangeSchema,
  [DETAIL_TYPES.processingJobStateChange]: processingJobStateChangeSchema,
  [DETAIL_TYPES.tuningJobStateChange]: tuningJobStateChangeSchema,
  [DETAIL_TYPES.transformJobStateChange]: transformJobStateChangeSchema,
  [DETAIL_TYPES.modelPackageStateChange]: modelPackageStateChangeSchema,
  [DETAIL_TYPES.endpointStateChange]: endpointStateChangeSchema,
  [DETAIL_TYPES.scheduledEvent]: scheduledEventSchema,
  [DETAIL_TYPES.objectCreated]: objectCreatedSchema,
};

const samples = readdirSync(join(ROOT, 'events', 'samples')).filter((file) => file.endsWith('.json'));

describe('events/samples (real events copied from AWS documentation)', () => {
  it('holds the samples the build and deploy paths consume', () => {
    expect(samples).toEqual(
      expect.arrayContaining([
        'codecommit-reference-created.json',
        'codecommit-reference-updated-push.json',
        'codecommit-reference-deleted.json',
        'codecommit-tag-created.json',
        'sagemaker-training-job-state-change.json',
        'sagemaker-hyperparameter-tuning-job-state-change.json',
        'sagemaker-transform-job-state-change.json',
        'sagemaker-model-package-state-change.json',
        'sagemaker-endpoint-state-change.json',
        'codepipeline-job-event.json',
        'scheduled-event.json',
        's3-object-created.json',
      ]),
    );
  });

  it.each(samples)('%s parses with the schema for its detail-type', (file) => {
    const event = loadSample(file);
    const schema = 'CodePipeline.job' in event ? codePipelineJobSchema : SCHEMAS[String(event['detail-type'])];

    expect(schema).toBeDefined();
    expect(() => parseEvent(schema!, event)).not.toThrow();
  });
});

describe('parseJobStateChange', () => {
  it('reduces the real training job sample to kind, name and status', () => {
    expect(parseJobStateChange(loadSample('sagemaker-training-job-state-change.json'))).toEqual({
      kind: 'training',
      jobName: '89c96cc8-dded-4739-afcc-6f1dc936701d',
      status: 'Completed',
    });
  });

  it('reduces a processing job event to kind, name and status', () => {
    expect(parseJobStateChange(loadFixture('processing-job-state-change.json'))).toEqual({
      kind: 'processing',
      jobName: 'abalone-preprocess-0a1b2c3d4e5f',
      status: 'Completed',
    });
  });

  it('reduces the real hyperparameter tuning job sample to kind, name and status', () => {
    expect(parseJobStateChange(loadSample('sagemaker-hyperparameter-tuning-job-state-change.json'))).toEqual({
      kind: 'tuning',
      jobName: '016bffd3-6d71-4d3a-9710-0a332b2759fc',
      status: 'status',
    });
  });

  it('reduces the real transform job sample to kind, name and status', () => {
    expect(parseJobStateChange(loadSample('sagemaker-transform-job-state-change.json'))).toEqual({
      kind: 'transform',
      jobName: '4b52bd8f-e034-4345-818d-884bdd7c9724',
      status: 'Completed',
    });
  });

  it('reads the transform events of AWS\'s other published samples, FailureReason and null fields included', () => {
    const conformance = (file: string) => loadFixture(`conformance/aws-events/${file}`);

    expect(parseJobStateChange(conformance('sagemaker-transform-job-state-change-failure-reason.json'))).toMatchObject({ kind: 'transform', status: 'another status... GO' });
    expect(parseJobStateChange(conformance('sagemaker-transform-job-inprogress-mlspace-fixture.json'))).toMatchObject({ kind: 'transform', status: 'InProgress' });
    expect(parseJobStateChange(conformance('sagemaker-hyperparameter-tuning-job-running-mlspace-fixture.json'))).toMatchObject({ kind: 'tuning' });
  });

  it('rejects a tuning event without HyperParameterTuningJobName, naming the field', () => {
    const event = loadSample<{ detail: Record<string, unknown> }>('sagemaker-hyperparameter-tuning-job-state-change.json');
    delete event.detail.HyperParameterTuningJobName;

    expect(() => parseJobStateChange(event)).toThrow(/detail\.HyperParameterTuningJobName/);
  });

  it('rejects another detail-type with InvalidInput naming detail-type', () => {
    const event = loadSample('sagemaker-endpoint-state-change.json');

    expect(() => parseJobStateChange(event)).toThrow(expect.objectContaining({ name: 'InvalidInput', message: expect.stringContaining('detail-type') }));
  });

  it('rejects a training event without TrainingJobName, naming the field', () => {
    const event = loadSample<{ detail: Record<string, unknown> }>('sagemaker-training-job-state-change.json');
    delete event.detail.TrainingJobName;

    expect(() => parseJobStateChange(event)).toThrow(/detail\.TrainingJobName/);
  });
});

describe('repositoryStateChangeSchema', () => {
  it('rejects an event whose repositoryName is not a string, naming the field', () => {
    const event = loadSample<{ detail: Record<string, unknown> }>('codecommit-reference-created.json');
    event.detail.repositoryName = 42;

    expect(() => parseEvent(repositoryStateChangeSchema, event)).toThrow(/detail\.repositoryName/);
  });
});
