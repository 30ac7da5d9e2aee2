import { describeEvent } from '../../../cli/main';
import type { EventBridgeEvent } from '../../../local/eventbridge/service';
import { formatStatus, modelPackageArn, versionOf } from '../../../cli/status';
import { loadSample } from '../../helpers/fixtures';

const LOCAL = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };

describe('modelPackageArn', () => {
  it('accepts a model package ARN as it is', () => {
    const arn = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-local-abalone/3';

    expect(modelPackageArn(arn, LOCAL)).toBe(arn);
  });

  it("turns group/version into an ARN in the target's account and region", () => {
    expect(modelPackageArn('sluice-local-abalone/12', LOCAL)).toBe('arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-local-abalone/12');
    expect(modelPackageArn('sluice-dev--abalone/3', { partition: 'aws', region: 'eu-west-1', accountId: '111122223333' })).toBe('arn:aws:sagemaker:eu-west-1:111122223333:model-package/sluice-dev--abalone/3');
  });

  it.each(['abalone', 'sluice-local-abalone/v3', '-bad/1', 'arn:aws:sagemaker:us-east-1:123:model-package/x/1'])('rejects %s naming the accepted forms', (reference) => {
    expect(() => modelPackageArn(reference, LOCAL)).toThrow(/expected an ARN .* or <group>\/<version>/);
  });
});

describe('describeEvent', () => {
  it('shows a push with repository, branch and short commit', () => {
    const line = describeEvent(loadSample<EventBridgeEvent>('codecommit-reference-updated.json'));

    expect(line).toMatch(/^push\s+\S+ \S+ referenceUpdated [0-9a-f]{7}$/);
  });

  it('shows a training job status with its failure reason', () => {
    const event = loadSample<EventBridgeEvent>('sagemaker-training-job-state-change.json');
    event.detail.TrainingJobStatus = 'Failed';
    event.detail.FailureReason = 'AlgorithmError: exit code 3';

    expect(describeEvent(event)).toContain('Failed — AlgorithmError: exit code 3');
  });

  it('shows tuning and transform job statuses from AWS\'s samples, with a failure reason', () => {
    const transform = loadSample<EventBridgeEvent>('sagemaker-transform-job-state-change.json');
    transform.detail.TransformJobStatus = 'Failed';
    transform.detail.FailureReason = 'ClientError: serve exited';

    expect(describeEvent(loadSample<EventBridgeEvent>('sagemaker-hyperparameter-tuning-job-state-change.json'))).toBe('tuning    016bffd3-6d71-4d3a-9710-0a332b2759fc status');
    expect(describeEvent(transform)).toBe('transform 4b52bd8f-e034-4345-818d-884bdd7c9724 Failed — ClientError: serve exited');
  });

  it('hides scheduled events and other AWS events, and shows Sluice domain events', () => {
    const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} } as unknown as EventBridgeEvent;
    const deployed = { source: 'sluice', 'detail-type': 'Model Deployed', detail: { stage: 'prod' } } as unknown as EventBridgeEvent;

    expect(describeEvent(scheduled)).toBeUndefined();
    expect(describeEvent(deployed)).toContain('"stage":"prod"');
  });

  it('says where a build failed: the step, the error and the cause', () => {
    const failed = {
      source: 'sluice',
      'detail-type': 'Model Build Failed',
      detail: { repository: 'abalone', commit: '0123456789abcdef', step: 'QualityGateFailed', error: 'QualityGateFailed', cause: 'quality gate not met: regression_metrics.mse.value = 7.2, required <= 6' },
    } as unknown as EventBridgeEvent;

    expect(describeEvent(failed)).toBe('build     abalone 0123456 FAILED at QualityGateFailed: QualityGateFailed: quality gate not met: regression_metrics.mse.value = 7.2, required <= 6');
  });

  it('summarises a succeeded build: its steps, how many came from the cache, and the version it registered', () => {
    const succeeded = {
      source: 'sluice',
      'detail-type': 'Model Build Succeeded',
      detail: {
        repository: 'abalone',
        commit: 'fedcba9876543210',
        modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-local-abalone/2',
        steps: { Preprocess: { CachedFrom: 'arn:…:run-1' }, Train: { CachedFrom: 'arn:…:run-1' }, QualityGate: {}, Register: { CachedFrom: null } },
      },
    } as unknown as EventBridgeEvent;

    expect(describeEvent(succeeded)).toBe('build     abalone fedcba9 succeeded: 4 steps, 2 from the cache → arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-local-abalone/2');
  });
});

describe('formatStatus', () => {
  it('lists runs with their steps, versions with metrics, and endpoints', () => {
    const text = formatStatus({
      runs: [{ stateMachine: 'sluice-local-model-build', name: 'abalone-1', status: 'FAILED', error: 'QualityGateFailed', cause: 'mse = 7', steps: [{ name: 'Train', status: 'succeeded' }, { name: 'QualityGate', status: 'failed' }] }],
      modelVersions: [{ arn: 'arn:x', group: 'sluice-local-abalone', version: 1, approval: 'Approved', metrics: { mse: 4.8 } }],
      endpoints: [{ name: 'sluice-local-abalone-prod', status: 'InService' }],
    });

    expect(text).toContain('FAILED    sluice-local-model-build/abalone-1  QualityGateFailed: mse = 7');
    expect(text).toContain('Train ✓ → QualityGate ✗');
    expect(text).toContain('sluice-local-abalone/1  Approved  {"mse":4.8}');
    expect(text).toContain('sluice-local-abalone-prod  InService');
  });

  it('shows how long each step took', () => {
    const text = formatStatus({
      runs: [{ stateMachine: 'sluice-local-build-abalone-1a2b3c4d', name: 'abalone-1', status: 'SUCCEEDED', steps: [{ name: 'Train', status: 'succeeded', durationSeconds: 2.4 }, { name: 'Register', status: 'succeeded', durationSeconds: 0.1, cachedFrom: 'arn:aws:states:us-east-1:123456789012:execution:m:abalone-0' }] }],
      modelVersions: [],
      endpoints: [],
    });

    expect(text).toContain('Train ✓ 2.4 s → Register ✓ 0.1 s (cached from abalone-0)');
  });

  it('shows the version each endpoint serves, before a failure reason', () => {
    const text = formatStatus({
      runs: [],
      modelVersions: [],
      endpoints: [
        { name: 'sluice-local-abalone-prod', status: 'InService', endpointConfig: 'c-2', modelVersion: 'sluice-local-abalone/1' },
        { name: 'sluice-local-abalone-staging', status: 'Failed', modelVersion: 'sluice-local-abalone/2', failureReason: 'smoke test failed' },
        { name: 'other', status: 'Creating' },
      ],
    });

    expect(text).toContain('  sluice-local-abalone-prod  InService  sluice-local-abalone/1\n');
    expect(text).toContain('  sluice-local-abalone-staging  Failed  sluice-local-abalone/2  smoke test failed');
    expect(text.endsWith('  other  Creating')).toBe(true);
  });
});

describe('versionOf', () => {
  it('turns a model package ARN into group/version and leaves other names as they are', () => {
    expect(versionOf('arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-local-abalone/12')).toBe('sluice-local-abalone/12');
    expect(versionOf('my-unversioned-package')).toBe('my-unversioned-package');
  });
});
