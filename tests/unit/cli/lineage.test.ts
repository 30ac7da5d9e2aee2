import { formatLineage, lineageFrom } from '../../../cli/lineage';
import type { Status } from '../../../cli/status';

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:sluice-local-build-abalone-1a2b3c4d:abalone-a6e8b59-0f1e2d';
const PACKAGE = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-local--abalone/2';

/** A status with one run, two versions of one group, and endpoints serving them. */
function status(): Status {
  return {
    runs: [
      { stateMachine: 'sluice-local-build-abalone-1a2b3c4d', name: 'abalone-a6e8b59-0f1e2d', status: 'SUCCEEDED', steps: [{ name: 'Train', status: 'succeeded' }, { name: 'Register', status: 'succeeded' }] },
      { stateMachine: 'sluice-local-build-abalone-1a2b3c4d', name: 'abalone-older-000000', status: 'SUCCEEDED', steps: [] },
    ],
    modelVersions: [
      {
        arn: PACKAGE,
        group: 'sluice-local--abalone',
        version: 2,
        approval: 'Approved',
        metadata: { 'sluice:repository': 'abalone', 'sluice:branch': 'main', 'sluice:commit': 'a6e8b59c0ffee0123456789abcdef0123456789a', 'sluice:execution': EXECUTION, 'sluice:training-job': 'sluice-local--abalone-train-0a1b2c3d4e5f' },
      },
      { arn: PACKAGE.replace(/2$/, '1'), group: 'sluice-local--abalone', version: 1, approval: 'Approved' },
    ],
    endpoints: [
      { name: 'sluice-local--abalone-staging', status: 'InService', modelVersion: 'sluice-local--abalone/2' },
      { name: 'sluice-local--abalone-prod', status: 'Updating', modelVersion: 'sluice-local--abalone/1, sluice-local--abalone/2' },
      { name: 'sluice-local--other-prod', status: 'InService', modelVersion: 'sluice-local--other/1' },
    ],
  };
}

describe('lineageFrom', () => {
  it('follows a version back to its commit, run and training job, and forward to the endpoints serving it', () => {
    expect(lineageFrom(status(), 'sluice-local--abalone/2')).toEqual({
      version: 'sluice-local--abalone/2',
      modelPackageArn: PACKAGE,
      approval: 'Approved',
      repository: 'abalone',
      branch: 'main',
      commit: 'a6e8b59c0ffee0123456789abcdef0123456789a',
      executionArn: EXECUTION,
      run: status().runs[0],
      trainingJob: 'sluice-local--abalone-train-0a1b2c3d4e5f',
      endpoints: [
        { name: 'sluice-local--abalone-staging', status: 'InService' },
        { name: 'sluice-local--abalone-prod', status: 'Updating' },
      ],
    });
  });

  it('starts from the model package ARN as well', () => {
    expect(lineageFrom(status(), PACKAGE).version).toBe('sluice-local--abalone/2');
  });

  it('starts from an endpoint serving one version', () => {
    expect(lineageFrom(status(), 'sluice-local--abalone-staging').version).toBe('sluice-local--abalone/2');
  });

  it('asks for a version when the endpoint serves two (a blue/green update in flight)', () => {
    expect(() => lineageFrom(status(), 'sluice-local--abalone-prod')).toThrow('endpoint sluice-local--abalone-prod serves several versions (sluice-local--abalone/1, sluice-local--abalone/2): name one');
  });

  it('says what it accepts when the reference names nothing', () => {
    expect(() => lineageFrom(status(), 'abalone')).toThrow(/is neither a model version \(<group>\/<version> or its ARN\) nor an endpoint serving one/);
  });

  it('leaves out what a version registered outside Sluice does not record', () => {
    expect(lineageFrom(status(), 'sluice-local--abalone/1')).toEqual({ version: 'sluice-local--abalone/1', modelPackageArn: PACKAGE.replace(/2$/, '1'), approval: 'Approved', endpoints: [{ name: 'sluice-local--abalone-prod', status: 'Updating' }] });
  });
});

describe('formatLineage', () => {
  it('prints one line per link', () => {
    const text = formatLineage(lineageFrom(status(), 'sluice-local--abalone/2'));

    expect(text.split('\n')).toEqual([
      `sluice-local--abalone/2  Approved  ${PACKAGE}`,
      '  source    abalone main@a6e8b59c0ffe',
      '  run       sluice-local-build-abalone-1a2b3c4d/abalone-a6e8b59-0f1e2d  SUCCEEDED  Train ✓ → Register ✓',
      '  training  sluice-local--abalone-train-0a1b2c3d4e5f',
      '  endpoints sluice-local--abalone-staging (InService), sluice-local--abalone-prod (Updating)',
    ]);
  });
});
