import { ConfigurationError, loadConfig, matchesAny } from '../../shared/config';

const ORIGINAL_ENV = process.env;

/** A complete, valid environment for the variables these tests load. */
const VALID_ENV = {
  ARTIFACTS_BUCKET: 'sluice-test-artifacts',
  MODEL_BUILD_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-model-build',
  ALLOWED_INSTANCE_TYPES: 'ml.m5.xlarge, ml.m5.large,,',
  MAX_RUNTIME_SECONDS: '7200',
  TRIGGER_REPOSITORIES: 'abalone,churn-*',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq',
};

describe('loadConfig', () => {
  beforeEach(() => {
    process.env = { ...ORIGINAL_ENV, ...VALID_ENV };
  });

  afterEach(() => {
    process.env = ORIGINAL_ENV;
  });

  it('returns the requested variables, parsed', () => {
    const config = loadConfig('ARTIFACTS_BUCKET', 'MAX_RUNTIME_SECONDS', 'DEAD_LETTER_QUEUE_URL');

    expect(config).toEqual({
      ARTIFACTS_BUCKET: 'sluice-test-artifacts',
      MAX_RUNTIME_SECONDS: 7200,
      DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq',
    });
  });

  it('splits comma lists, trimming blanks and dropping empty items', () => {
    const config = loadConfig('ALLOWED_INSTANCE_TYPES', 'TRIGGER_REPOSITORIES');

    expect(config.ALLOWED_INSTANCE_TYPES).toEqual(['ml.m5.xlarge', 'ml.m5.large']);
    expect(config.TRIGGER_REPOSITORIES).toEqual(['abalone', 'churn-*']);
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig('ARTIFACTS_BUCKET'))).toBe(true);
  });

  it('names a missing variable and says it is not set', () => {
    delete process.env.MAX_SOURCE_BYTES;

    expect(() => loadConfig('ARTIFACTS_BUCKET', 'MAX_SOURCE_BYTES')).toThrow(/MAX_SOURCE_BYTES: .*\(not set\)/);
  });

  it('throws ConfigurationError', () => {
    delete process.env.MAX_SOURCE_BYTES;

    expect(() => loadConfig('MAX_SOURCE_BYTES')).toThrow(ConfigurationError);
  });

  it('names every malformed variable in one message', () => {
    process.env.ARTIFACTS_BUCKET = 'Not_A_Bucket';
    process.env.MAX_RUNTIME_SECONDS = 'two hours';
    process.env.DEAD_LETTER_QUEUE_URL = 'sluice-test-dlq';

    expect(() => loadConfig('ARTIFACTS_BUCKET', 'MAX_RUNTIME_SECONDS', 'DEAD_LETTER_QUEUE_URL')).toThrow(
      /ARTIFACTS_BUCKET: must be an S3 bucket name;.*MAX_RUNTIME_SECONDS: .*;.*DEAD_LETTER_QUEUE_URL: /,
    );
  });

  it('does not say "not set" for a variable that is set but malformed', () => {
    process.env.MAX_RUNTIME_SECONDS = '-5';

    expect(() => loadConfig('MAX_RUNTIME_SECONDS')).toThrow(/^(?!.*not set).*MAX_RUNTIME_SECONDS/);
  });

  it('rejects a non-integer number', () => {
    process.env.MAX_RUNTIME_SECONDS = '1.5';

    expect(() => loadConfig('MAX_RUNTIME_SECONDS')).toThrow(/MAX_RUNTIME_SECONDS/);
  });

  it('rejects an empty number rather than reading it as zero', () => {
    process.env.MAX_RUNTIME_SECONDS = '';

    expect(() => loadConfig('MAX_RUNTIME_SECONDS')).toThrow(/MAX_RUNTIME_SECONDS/);
  });

  it('rejects a comma list with no items, naming the variable', () => {
    process.env.TRIGGER_BRANCHES = ' , ,';

    expect(() => loadConfig('TRIGGER_BRANCHES')).toThrow('TRIGGER_BRANCHES: must list at least one value');
  });

  it('rejects a state machine ARN that is not an ARN', () => {
    process.env.MODEL_BUILD_STATE_MACHINE_ARN = 'sluice-test-model-build';

    expect(() => loadConfig('MODEL_BUILD_STATE_MACHINE_ARN')).toThrow(/MODEL_BUILD_STATE_MACHINE_ARN/);
  });

  it('defaults RECONCILE_MIN_AGE_SECONDS to 120 when unset', () => {
    delete process.env.RECONCILE_MIN_AGE_SECONDS;

    expect(loadConfig('RECONCILE_MIN_AGE_SECONDS').RECONCILE_MIN_AGE_SECONDS).toBe(120);
  });

  it('reads the deploy settings, with BAKE_SECONDS 300 and KEEP_VERSIONS 3 by default', () => {
    Object.assign(process.env, { PROD_GATE: 'manual', PROD_GATE_TIMEOUT_SECONDS: '86400', MODEL_LATENCY_THRESHOLD_MS: '500', ALLOWED_ENDPOINT_INSTANCE_TYPES: 'ml.m5.large, ml.t2.medium' });
    delete process.env.BAKE_SECONDS;
    delete process.env.KEEP_VERSIONS;

    expect(loadConfig('PROD_GATE', 'PROD_GATE_TIMEOUT_SECONDS', 'MODEL_LATENCY_THRESHOLD_MS', 'ALLOWED_ENDPOINT_INSTANCE_TYPES', 'BAKE_SECONDS', 'KEEP_VERSIONS')).toEqual({
      PROD_GATE: 'manual',
      PROD_GATE_TIMEOUT_SECONDS: 86_400,
      MODEL_LATENCY_THRESHOLD_MS: 500,
      ALLOWED_ENDPOINT_INSTANCE_TYPES: ['ml.m5.large', 'ml.t2.medium'],
      BAKE_SECONDS: 300,
      KEEP_VERSIONS: 3,
    });
  });

  it('rejects a PROD_GATE other than manual or auto', () => {
    process.env.PROD_GATE = 'sometimes';

    expect(() => loadConfig('PROD_GATE')).toThrow(/PROD_GATE/);
  });

  it('accepts a BAKE_SECONDS of 0 but not above UpdateEndpoint\'s 3600', () => {
    process.env.BAKE_SECONDS = '0';
    expect(loadConfig('BAKE_SECONDS').BAKE_SECONDS).toBe(0);

    process.env.BAKE_SECONDS = '7200';
    expect(() => loadConfig('BAKE_SECONDS')).toThrow(/BAKE_SECONDS/);
  });

  it('ignores variables it was not asked for, even malformed ones', () => {
    process.env.MAX_SOURCE_BYTES = 'lots';

    expect(loadConfig('ARTIFACTS_BUCKET').ARTIFACTS_BUCKET).toBe('sluice-test-artifacts');
  });
});

describe('matchesAny', () => {
  it('matches a name listed exactly', () => {
    expect(matchesAny('abalone', ['churn', 'abalone'])).toBe(true);
  });

  it('does not match a name that only starts like a listed one', () => {
    expect(matchesAny('abalone-v2', ['abalone'])).toBe(false);
  });

  it('is case-sensitive, as repository and branch names are', () => {
    expect(matchesAny('Main', ['main'])).toBe(false);
  });

  it('matches anything with a lone *', () => {
    expect(matchesAny('feature/whatever', ['*'])).toBe(true);
  });

  it('matches a * prefix pattern', () => {
    expect(matchesAny('release/2026.11', ['release/*'])).toBe(true);
  });

  it('matches a * in the middle', () => {
    expect(matchesAny('team-a-model', ['team-*-model'])).toBe(true);
  });

  it('matches a * suffix pattern', () => {
    expect(matchesAny('churn-model', ['*-model'])).toBe(true);
  });

  it('lets * span slashes in branch names', () => {
    expect(matchesAny('feature/a/b', ['feature/*'])).toBe(true);
  });

  it('treats regular-expression characters in a pattern literally', () => {
    expect(matchesAny('release-1x0', ['release-1.0'])).toBe(false);
  });

  it('matches names containing regular-expression characters', () => {
    expect(matchesAny('fix(parser)+[1]', ['fix(parser)+[1]'])).toBe(true);
  });

  it('matches nothing with an empty list', () => {
    expect(matchesAny('main', [])).toBe(false);
  });
});
