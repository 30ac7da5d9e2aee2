import {
  buildExecutionName,
  buildKeyPrefix,
  canonicalJson,
  deployModelName,
  endpointConfigName,
  endpointName,
  jobName,
  modelPackageGroupName,
  parseModelPackageArn,
  pipelineStateMachineName,
  repositoryKey,
  requestedBuildExecutionName,
  SAGEMAKER_NAME,
  shortHash,
  sourceSnapshotPrefix,
  stageResourcePrefix,
  toSageMakerSlug,
} from '../../shared/naming';
import { COMMIT, COMMIT_TREE, EXECUTION_ARN } from '../helpers/fixtures';

/** Step Functions' execution name alphabet, as the state machine input schema checks it. */
const SFN_EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** Repository and branch names people actually type, and some they shouldn't. */
const HOSTILE_NAMES = [
  'feature/New Model_v2',
  '../../etc/passwd',
  '---',
  '',
  '   ',
  'über-modèl',
  '模型',
  'a'.repeat(100),
  `${'ab-'.repeat(40)}c`,
  'name with spaces and $(shell) `ticks`',
  'trailing.dot.',
  'x--y',
  '-leading-hyphen',
];

const STEPS = ['preprocess', 'train', 'evaluate'] as const;

/** Version 2 step names: letters, digits, _ and -, up to 48 characters. */
const V2_STEPS = ['Preprocess', 'TrainXgb', 'evaluate_linear', `S${'tep-name_'.repeat(5)}x`.slice(0, 48)];

describe('toSageMakerSlug', () => {
  it('turns a branch name with slashes into a valid SageMaker name part', () => {
    expect(toSageMakerSlug('feature/New Model_v2', 63)).toBe('feature-New-Model-v2');
  });

  it.each(HOSTILE_NAMES)('makes %j a valid SageMaker name', (name) => {
    expect(toSageMakerSlug(name, 63)).toMatch(SAGEMAKER_NAME);
  });

  it('never returns an empty string', () => {
    expect(toSageMakerSlug('///', 63)).toBe('x');
  });

  it('keeps at most maxLength characters without ending on a hyphen', () => {
    const slug = toSageMakerSlug('abcd-efgh', 5);

    expect(slug).toBe('abcd');
  });

  it('collapses runs of separators into one hyphen', () => {
    expect(toSageMakerSlug('a..__//b', 63)).toBe('a-b');
  });
});

describe('buildExecutionName', () => {
  it.each(HOSTILE_NAMES)('gives a valid Step Functions execution name for repository %j', (repository) => {
    expect(buildExecutionName(repository, COMMIT)).toMatch(SFN_EXECUTION_NAME);
  });

  it('stays within 80 characters for the longest repository name and commit id the events allow', () => {
    const name = buildExecutionName('r'.repeat(100), 'f'.repeat(64));

    expect(name).toMatch(SFN_EXECUTION_NAME);
  });

  it('is the same for the same repository and commit', () => {
    expect(buildExecutionName('abalone', COMMIT)).toBe(buildExecutionName('abalone', COMMIT));
  });

  it('differs between commits of one repository', () => {
    expect(buildExecutionName('abalone', COMMIT)).not.toBe(buildExecutionName('abalone', 'fedcba9876543210fedcba9876543210fedcba98'));
  });

  it('differs between repositories whose names reduce to the same slug', () => {
    expect(buildExecutionName('my.repo', COMMIT)).not.toBe(buildExecutionName('my_repo', COMMIT));
  });

  it('starts with the repository slug and carries the commit id, so a reader can tell which build it is', () => {
    expect(buildExecutionName('abalone', COMMIT)).toMatch(new RegExp(`^abalone-${COMMIT}-[0-9a-f]{6}$`));
  });
});

describe('sourceSnapshotPrefix', () => {
  const OTHER_TREE = 'e3b1c6f20a9d48c7b5e2f1a0d9c8b7a6f5e4d3c2';

  it('reads as builds/<repository>-<6 hex>/sources/<tree>/: inside the repository\'s own prefix', () => {
    expect(sourceSnapshotPrefix('abalone', COMMIT_TREE)).toBe(`builds/abalone-${shortHash(['abalone'], 6)}/sources/${COMMIT_TREE}/`);
  });

  it('is the same for the same repository and tree, whatever the commit: a new commit with the same files finds the snapshot', () => {
    expect(sourceSnapshotPrefix('abalone', COMMIT_TREE)).toBe(sourceSnapshotPrefix('abalone', COMMIT_TREE));
  });

  it('differs between trees of one repository', () => {
    expect(sourceSnapshotPrefix('abalone', COMMIT_TREE)).not.toBe(sourceSnapshotPrefix('abalone', OTHER_TREE));
  });

  it.each([
    ['names that reduce to the same slug', 'my.repo', 'my_repo'],
    ['names that share their first 32 characters', `${'a'.repeat(32)}-churn`, `${'a'.repeat(32)}-fraud`],
  ])('differs between repositories with %s, so two repositories never share a snapshot of the same tree', (_what, one, other) => {
    expect(sourceSnapshotPrefix(one, COMMIT_TREE)).not.toBe(sourceSnapshotPrefix(other, COMMIT_TREE));
  });

  it.each(HOSTILE_NAMES)('keeps repository %j to one key-safe folder under builds/', (repository) => {
    expect(sourceSnapshotPrefix(repository, COMMIT_TREE)).toMatch(new RegExp(`^builds/[A-Za-z0-9-]{1,32}-[0-9a-f]{6}/sources/${COMMIT_TREE}/$`));
  });
});

describe('repositoryKey and buildKeyPrefix', () => {
  it('put a run under its repository\'s own prefix: builds/<repository key>/<execution>/', () => {
    expect(buildKeyPrefix('abalone', 'abalone-0123-a1b2c3')).toBe(`builds/abalone-${shortHash(['abalone'], 6)}/abalone-0123-a1b2c3/`);
  });

  it('never makes one repository\'s prefix a prefix of another\'s (abalone, abalone-age)', () => {
    const [one, other] = [`builds/${repositoryKey('abalone')}/`, `builds/${repositoryKey('abalone-age')}/`];

    expect([other.startsWith(one), one.startsWith(other)]).toEqual([false, false]);
  });

  it.each(HOSTILE_NAMES)('keeps repository %j to one key-safe folder name', (repository) => {
    expect(repositoryKey(repository)).toMatch(/^[A-Za-z0-9-]{1,32}-[0-9a-f]{6}$/);
  });
});

describe('jobName', () => {
  it.each(HOSTILE_NAMES.flatMap((repository) => STEPS.map((step) => [repository, step] as const)))(
    'gives a valid SageMaker job name for repository %j, step %s',
    (repository, step) => {
      expect(jobName('sluice-dev', repository, step, EXECUTION_ARN)).toMatch(SAGEMAKER_NAME);
    },
  );

  it('is the same for the same execution and step, so a retried task finds its job', () => {
    expect(jobName('sluice-dev', 'abalone', 'train', EXECUTION_ARN)).toBe(jobName('sluice-dev', 'abalone', 'train', EXECUTION_ARN));
  });

  it('differs between the steps of one execution', () => {
    const names = STEPS.map((step) => jobName('sluice-dev', 'abalone', step, EXECUTION_ARN));

    expect(new Set(names).size).toBe(STEPS.length);
  });

  it('differs between executions for the same step', () => {
    expect(jobName('sluice-dev', 'abalone', 'train', EXECUTION_ARN)).not.toBe(jobName('sluice-dev', 'abalone', 'train', `${EXECUTION_ARN}-2`));
  });

  it('reads as <stage prefix>--<repository>-<step>-<hash>, in lower case as SageMaker writes job ARNs', () => {
    expect(jobName('Sluice-Dev', 'Abalone', 'evaluate', EXECUTION_ARN)).toMatch(/^sluice-dev--abalone-evaluate-[0-9a-f]{12}$/);
  });

  it('reads as repository-step-hash after the stage', () => {
    expect(jobName('sluice-dev', 'abalone', 'evaluate', EXECUTION_ARN)).toMatch(/^sluice-dev--abalone-evaluate-[0-9a-f]{12}$/);
  });

  it('lowercases a Version 2 step name', () => {
    expect(jobName('sluice-dev', 'abalone', 'TrainXgb', EXECUTION_ARN)).toMatch(/^sluice-dev--abalone-trainxgb-[0-9a-f]{12}$/);
  });

  it.each(HOSTILE_NAMES.flatMap((repository) => V2_STEPS.map((step) => [repository, step] as const)))(
    'gives a valid SageMaker job name for the 100th attempt of repository %j, step %s',
    (repository, step) => {
      expect(jobName('sluice-dev', repository, step, EXECUTION_ARN, 100)).toMatch(SAGEMAKER_NAME);
    },
  );

  it('is the first attempt\'s name when no attempt is given', () => {
    expect(jobName('sluice-dev', 'abalone', 'Train', EXECUTION_ARN, 1)).toBe(jobName('sluice-dev', 'abalone', 'Train', EXECUTION_ARN));
  });

  it('appends -<attempt> from the second attempt on, as SageMaker never reuses a job name', () => {
    const first = jobName('sluice-dev', 'abalone', 'Train', EXECUTION_ARN);

    expect(jobName('sluice-dev', 'abalone', 'Train', EXECUTION_ARN, 2)).toBe(`${first}-2`);
    expect(jobName('sluice-dev', 'abalone', 'Train', EXECUTION_ARN, 3)).toBe(`${first}-3`);
  });

  it('keeps two long step names apart that share their first 24 characters', () => {
    const a = `${'x'.repeat(30)}A`;
    const b = `${'x'.repeat(30)}B`;

    expect(jobName('sluice-dev', 'abalone', a, EXECUTION_ARN)).not.toBe(jobName('sluice-dev', 'abalone', b, EXECUTION_ARN));
  });
});

describe('pipelineStateMachineName', () => {
  /** Step Functions' state machine name alphabet and length. */
  const SFN_NAME = /^[A-Za-z0-9_-]{1,80}$/;

  it('reads as <prefix><repository>-<8 hex of the definition>', () => {
    expect(pipelineStateMachineName('sluice-dev-build-', 'abalone', '1a2b3c4d5e6f')).toBe('sluice-dev-build-abalone-1a2b3c4d');
  });

  it.each(HOSTILE_NAMES)('gives a valid state machine name for repository %j under the longest prefix', (repository) => {
    expect(pipelineStateMachineName(`${'p'.repeat(39)}-`, repository, 'ffffffff')).toMatch(SFN_NAME);
  });

  it('is the same for the same repository and definition hash', () => {
    expect(pipelineStateMachineName('sluice-dev-build-', 'abalone', '1a2b3c4d')).toBe(pipelineStateMachineName('sluice-dev-build-', 'abalone', '1a2b3c4d'));
  });

  it('differs for another definition', () => {
    expect(pipelineStateMachineName('sluice-dev-build-', 'abalone', '1a2b3c4d')).not.toBe(pipelineStateMachineName('sluice-dev-build-', 'abalone', '9f8e7d6c'));
  });
});

describe('requestedBuildExecutionName', () => {
  it.each(HOSTILE_NAMES)('gives a valid Step Functions execution name for repository %j', (repository) => {
    expect(requestedBuildExecutionName(repository, 'f'.repeat(64), 'r'.repeat(64))).toMatch(SFN_EXECUTION_NAME);
  });

  it('is the same for the same request, so a repeated request starts nothing new', () => {
    expect(requestedBuildExecutionName('abalone', COMMIT, 'run-0001')).toBe(requestedBuildExecutionName('abalone', COMMIT, 'run-0001'));
  });

  it('differs between requests of the same commit', () => {
    expect(requestedBuildExecutionName('abalone', COMMIT, 'run-0001')).not.toBe(requestedBuildExecutionName('abalone', COMMIT, 'run-0002'));
  });

  it('never equals the push build\'s name of the same commit', () => {
    expect(requestedBuildExecutionName('abalone', COMMIT, 'run-0001')).not.toBe(buildExecutionName('abalone', COMMIT));
  });

  it('reads as repository-commit-run-hash', () => {
    expect(requestedBuildExecutionName('abalone', COMMIT, 'run-0001')).toMatch(new RegExp(`^abalone-${COMMIT.slice(0, 12)}-run-[0-9a-f]{12}$`));
  });
});

describe('modelPackageGroupName', () => {
  it.each(HOSTILE_NAMES)('gives a valid SageMaker name for configured group %j', (configured) => {
    expect(modelPackageGroupName('sluice-dev', configured)).toMatch(SAGEMAKER_NAME);
  });

  it('ends the stage with --, so a stage that is a prefix of another (dev, dev-eu) never covers its groups', () => {
    const dev = stageResourcePrefix('sluice-dev');
    const devEu = modelPackageGroupName('sluice-dev-eu', 'abalone');

    expect(devEu).toBe('sluice-dev-eu--abalone');
    expect(devEu.startsWith(dev)).toBe(false);
    expect(modelPackageGroupName('sluice-dev', 'eu--abalone').startsWith(stageResourcePrefix('sluice-dev-eu'))).toBe(false);
  });

  it('keeps the -- of the stage and of a repository\'s further group in endpoint, model and endpoint config names, even when cut', () => {
    const group = modelPackageGroupName('sluice-dev', `abalone--${'x'.repeat(50)}`);

    for (const name of [endpointName(group, 'prod'), deployModelName(group, 3), endpointConfigName(group, 'staging', 3)]) expect(name.startsWith('sluice-dev--abalone--')).toBe(true);
  });

  it('prefixes the group with the stage so two stages never share one', () => {
    expect(modelPackageGroupName('sluice-dev', 'abalone')).toBe('sluice-dev--abalone');
  });
});

describe('shortHash', () => {
  it('returns the requested number of hex characters', () => {
    expect(shortHash(['a', 'b'], 10)).toMatch(/^[0-9a-f]{10}$/);
  });

  it('keeps part boundaries, so ["ab", "c"] and ["a", "bc"] differ', () => {
    expect(shortHash(['ab', 'c'])).not.toBe(shortHash(['a', 'bc']));
  });
});

describe('parseModelPackageArn', () => {
  it('reads group and version of a versioned model package ARN', () => {
    expect(parseModelPackageArn('arn:aws:sagemaker:us-east-2:123456789012:model-package/versionedmp-p-idy6c3e1fiqj/2')).toEqual({ group: 'versionedmp-p-idy6c3e1fiqj', version: 2 });
  });

  it.each(['arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned', 'sluice-local-abalone/2', 'arn:aws:sagemaker:us-east-1:123:model-package/g/1'])('returns undefined for %s', (arn) => {
    expect(parseModelPackageArn(arn)).toBeUndefined();
  });
});

describe('canonicalJson', () => {
  it('serialises equal objects the same whatever their key order, leaving out undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } })).toBe(canonicalJson({ a: { d: [2, 1] }, b: 1 }));
  });

  it('keeps array order', () => {
    expect(canonicalJson(['--input', 'x'])).not.toBe(canonicalJson(['x', '--input']));
  });
});
