import {
  deployExecutionName,
  deployModelName,
  endpointAlarmNames,
  endpointConfigName,
  endpointConfigNamePrefix,
  endpointName,
  modelNamePrefix,
  rollbackExecutionName,
  SAGEMAKER_NAME,
} from '../../../shared/naming';

const SFN_EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const LONG_GROUP = `sluice-dev-${'very-long-model-repository-name-'.repeat(2)}x`.slice(0, 63);

describe('deploy resource names', () => {
  it('names the endpoint, model and endpoint config as the design says', () => {
    expect(endpointName('sluice-dev-abalone', 'prod')).toBe('sluice-dev-abalone-prod');
    expect(deployModelName('sluice-dev-abalone', 3)).toBe('sluice-dev-abalone-v3');
    expect(endpointConfigName('sluice-dev-abalone', 'staging', 3)).toBe('sluice-dev-abalone-staging-v3');
  });

  it.each(['staging', 'prod'] as const)('keeps every name of a 63-character group within SageMaker\'s rule on %s', (stage) => {
    const names = [endpointName(LONG_GROUP, stage), deployModelName(LONG_GROUP, 999_999), endpointConfigName(LONG_GROUP, stage, 999_999)];

    for (const name of names) expect(name).toMatch(SAGEMAKER_NAME);
  });

  it('keeps the version at the end of a shortened name, so cleanup can still read it', () => {
    expect(endpointConfigName(LONG_GROUP, 'prod', 12)).toBe(`${endpointConfigNamePrefix(LONG_GROUP, 'prod')}12`);
    expect(deployModelName(LONG_GROUP, 12)).toBe(`${modelNamePrefix(LONG_GROUP)}12`);
    expect(endpointConfigName(LONG_GROUP, 'prod', 12)).toMatch(/-prod-v12$/);
  });

  it('gives two long groups that share their first 60 characters different names', () => {
    const other = `${LONG_GROUP.slice(0, 60)}zzz`;

    expect(endpointName(other, 'prod')).not.toBe(endpointName(LONG_GROUP, 'prod'));
  });

  it('names the alarms after the endpoint', () => {
    expect(endpointAlarmNames('sluice-dev-abalone-prod')).toEqual({ errors: 'sluice-dev-abalone-prod-5xx', latency: 'sluice-dev-abalone-prod-model-latency' });
  });
});

describe('deploy execution names', () => {
  it('reads as <group>-v<version>-<8 hex>', () => {
    expect(deployExecutionName('sluice-dev-abalone', 3, '2026-11-23T10:00:00Z')).toMatch(/^sluice-dev-abalone-v3-[0-9a-f]{8}$/);
  });

  it('is the same for a triplicated event (same LastModifiedTime)', () => {
    expect(deployExecutionName('g', 3, '2026-11-23T10:00:00Z')).toBe(deployExecutionName('g', 3, '2026-11-23T10:00:00Z'));
  });

  it('differs for a re-approval after a rejection (new LastModifiedTime)', () => {
    expect(deployExecutionName('g', 3, '2026-11-23T11:00:00Z')).not.toBe(deployExecutionName('g', 3, '2026-11-23T10:00:00Z'));
  });

  it.each([1, 999_999])('stays a valid Step Functions name for a 63-character group at version %i', (version) => {
    expect(deployExecutionName(LONG_GROUP, version, 'x')).toMatch(SFN_EXECUTION_NAME);
    expect(rollbackExecutionName(LONG_GROUP, version, 'x')).toMatch(SFN_EXECUTION_NAME);
  });

  it('reads as <group>-rollback-v<rejected>-<8 hex> for a rollback', () => {
    expect(rollbackExecutionName('sluice-dev-abalone', 4, 't')).toMatch(/^sluice-dev-abalone-rollback-v4-[0-9a-f]{8}$/);
  });
});
