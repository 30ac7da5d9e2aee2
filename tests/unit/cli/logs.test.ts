import { logPlaces } from '../../../cli/logs';

describe('logPlaces (where sluice logs looks)', () => {
  it('looks for a job\'s streams in both job groups, then for an endpoint\'s group, as SageMaker names them', () => {
    expect(logPlaces('sluice-dev--abalone-train-0a1b2c3d4e5f')).toEqual([
      { logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: 'sluice-dev--abalone-train-0a1b2c3d4e5f/' },
      { logGroupName: '/aws/sagemaker/ProcessingJobs', logStreamNamePrefix: 'sluice-dev--abalone-train-0a1b2c3d4e5f/' },
      { logGroupName: '/aws/sagemaker/Endpoints/sluice-dev--abalone-train-0a1b2c3d4e5f' },
    ]);
  });
});
