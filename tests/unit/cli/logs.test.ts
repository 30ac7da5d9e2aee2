import { isRunReference, logPlaces } from '../../../cli/logs';

describe('logPlaces (where sluice logs looks)', () => {
  it('looks for a job\'s streams in the three job groups, then for an endpoint\'s group, as SageMaker names them', () => {
    expect(logPlaces('sluice-dev--abalone-train-0a1b2c3d4e5f')).toEqual([
      { logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: 'sluice-dev--abalone-train-0a1b2c3d4e5f/' },
      { logGroupName: '/aws/sagemaker/ProcessingJobs', logStreamNamePrefix: 'sluice-dev--abalone-train-0a1b2c3d4e5f/' },
      { logGroupName: '/aws/sagemaker/TransformJobs', logStreamNamePrefix: 'sluice-dev--abalone-train-0a1b2c3d4e5f/' },
      { logGroupName: '/aws/sagemaker/Endpoints/sluice-dev--abalone-train-0a1b2c3d4e5f' },
    ]);
  });
});

describe('isRunReference (sluice logs <run> or <job | endpoint>)', () => {
  it('reads an execution ARN or <state machine>/<execution> as a run', () => {
    expect(isRunReference('arn:aws:states:eu-west-1:111122223333:execution:sluice-prod-build-x-1a2b3c4d:run-1')).toBe(true);
    expect(isRunReference('sluice-local-build-abalone-1a2b3c4d/abalone-0123')).toBe(true);
  });

  it('reads a job or endpoint name, or another ARN, as not a run', () => {
    expect(isRunReference('sluice-dev--abalone-train-0a1b2c3d4e5f')).toBe(false);
    expect(isRunReference('arn:aws:sagemaker:eu-west-1:111122223333:training-job/sluice-dev--abalone-train-0a1b2c3d4e5f')).toBe(false);
  });
});
