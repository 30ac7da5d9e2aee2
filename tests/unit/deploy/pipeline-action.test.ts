import { ModelPackageNotApprovedError, RetryableError } from '../../../shared/errors';
import { parsePipelineParameters, type PipelinePorts, pushForBuild, runPipelineAction } from '../../../shared/deploy/pipeline-action';
import { type CodePipelineJob, parseEvent, repositoryStateChangeSchema } from '../../../shared/schemas/events';
import { MODEL_PACKAGE_ARN } from '../../helpers/deploy';
import { COMMIT, loadSample } from '../../helpers/fixtures';

/** The real CodePipeline sample's job id. */
const JOB_ID = '11111111-abcd-1111-abcd-111111abcdef';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:sluice-test-model-deploy:run-1';

function job(userParameters: unknown, continuationToken?: string): CodePipelineJob {
  const sample = loadSample<CodePipelineJob>('codepipeline-job-event.json');
  const data = sample['CodePipeline.job'].data;
  data.actionConfiguration.configuration.UserParameters = typeof userParameters === 'string' ? userParameters : JSON.stringify(userParameters);
  if (continuationToken) data.continuationToken = continuationToken;
  else delete data.continuationToken;
  return sample;
}

function ports(overrides: Partial<PipelinePorts> = {}): jest.Mocked<PipelinePorts> {
  return {
    startBuild: jest.fn().mockResolvedValue({ executionArn: EXECUTION }),
    startDeploy: jest.fn().mockResolvedValue({ executionArn: EXECUTION }),
    promote: jest.fn().mockResolvedValue(undefined),
    describeExecution: jest.fn().mockResolvedValue({ status: 'RUNNING' }),
    putJobSuccess: jest.fn().mockResolvedValue(undefined),
    putJobFailure: jest.fn().mockResolvedValue(undefined),
    ...overrides,
  } as jest.Mocked<PipelinePorts>;
}

describe('runPipelineAction', () => {
  it('starts a deploy on the first call and answers success with the execution ARN as continuation token', async () => {
    const fake = ports();

    await expect(runPipelineAction(job({ action: 'deploy', modelPackageArn: MODEL_PACKAGE_ARN }), fake)).resolves.toEqual({ answer: 'in-progress', executionArn: EXECUTION });

    expect(fake.startDeploy).toHaveBeenCalledWith(MODEL_PACKAGE_ARN, JOB_ID);
    expect(fake.putJobSuccess).toHaveBeenCalledWith(JOB_ID, EXECUTION);
  });

  it('starts a build for {"action":"build"} and continues with its execution', async () => {
    const fake = ports();

    await runPipelineAction(job({ action: 'build', repository: 'abalone', commit: COMMIT }), fake);

    expect(fake.startBuild).toHaveBeenCalledWith({ action: 'build', repository: 'abalone', commit: COMMIT, branch: 'main' });
    expect(fake.putJobSuccess).toHaveBeenCalledWith(JOB_ID, EXECUTION);
  });

  it('publishes the promotion and succeeds at once for {"action":"promote"}', async () => {
    const fake = ports();

    await expect(runPipelineAction(job({ action: 'promote', modelPackageArn: MODEL_PACKAGE_ARN }), fake)).resolves.toEqual({ answer: 'succeeded' });

    expect(fake.promote).toHaveBeenCalledWith(MODEL_PACKAGE_ARN, JOB_ID);
    expect(fake.putJobSuccess).toHaveBeenCalledWith(JOB_ID);
  });

  it('answers success with the same continuation token while the run is RUNNING', async () => {
    const fake = ports();

    await runPipelineAction(job({ action: 'deploy', modelPackageArn: MODEL_PACKAGE_ARN }, EXECUTION), fake);

    expect(fake.describeExecution).toHaveBeenCalledWith(EXECUTION);
    expect(fake.startDeploy).not.toHaveBeenCalled();
    expect(fake.putJobSuccess).toHaveBeenCalledWith(JOB_ID, EXECUTION);
  });

  it('answers plain success once the run SUCCEEDED', async () => {
    const fake = ports({ describeExecution: jest.fn().mockResolvedValue({ status: 'SUCCEEDED' }) });

    await expect(runPipelineAction(job({ action: 'deploy', modelPackageArn: MODEL_PACKAGE_ARN }, EXECUTION), fake)).resolves.toEqual({ answer: 'succeeded', executionArn: EXECUTION });

    expect(fake.putJobSuccess).toHaveBeenCalledWith(JOB_ID);
  });

  it.each(['FAILED', 'ABORTED', 'TIMED_OUT'])('answers JobFailed with "error: cause" when the run is %s', async (status) => {
    const fake = ports({ describeExecution: jest.fn().mockResolvedValue({ status, error: 'SmokeTestFailed', cause: 'line 2 is not numeric' }) });

    await runPipelineAction(job({ action: 'deploy', modelPackageArn: MODEL_PACKAGE_ARN }, EXECUTION), fake);

    expect(fake.putJobFailure).toHaveBeenCalledWith(JOB_ID, 'JobFailed', `${status}: SmokeTestFailed: line 2 is not numeric`);
  });

  it.each([
    ['the sample\'s plain-text parameters', 'some-input-such-as-a-URL', 'not valid JSON'],
    ['an unknown action', { action: 'destroy' }, 'action'],
    ['a deploy without an ARN', { action: 'deploy' }, 'modelPackageArn'],
  ])('answers ConfigurationError naming the problem for %s', async (_case, parameters, named) => {
    const fake = ports();

    await runPipelineAction(job(parameters), fake);

    expect(fake.putJobFailure).toHaveBeenCalledWith(JOB_ID, 'ConfigurationError', expect.stringContaining(named));
    expect(fake.startDeploy).not.toHaveBeenCalled();
  });

  it('answers JobFailed when the run cannot start for a terminal reason', async () => {
    const fake = ports({ startDeploy: jest.fn().mockRejectedValue(new ModelPackageNotApprovedError('v3 is Rejected')) });

    await runPipelineAction(job({ action: 'deploy', modelPackageArn: MODEL_PACKAGE_ARN }), fake);

    expect(fake.putJobFailure).toHaveBeenCalledWith(JOB_ID, 'JobFailed', 'ModelPackageNotApproved: v3 is Rejected');
  });

  it('throws a transient failure before answering, so Lambda retries the invocation', async () => {
    const fake = ports({ startDeploy: jest.fn().mockRejectedValue(new RetryableError('throttled')) });

    await expect(runPipelineAction(job({ action: 'deploy', modelPackageArn: MODEL_PACKAGE_ARN }), fake)).rejects.toThrow(RetryableError);

    expect(fake.putJobSuccess).not.toHaveBeenCalled();
    expect(fake.putJobFailure).not.toHaveBeenCalled();
  });
});

describe('parsePipelineParameters', () => {
  it('says the parameters are empty when they are missing', () => {
    expect(parsePipelineParameters(undefined)).toMatchObject({ ok: false, problem: expect.stringContaining('empty') });
  });
});

describe('pushForBuild', () => {
  it('makes a push event the build\'s own schema accepts', () => {
    const push = pushForBuild({ action: 'build', repository: 'abalone', commit: COMMIT, branch: 'main' }, job('{}'), 'us-east-1');

    expect(parseEvent(repositoryStateChangeSchema, push).detail).toMatchObject({ repositoryName: 'abalone', referenceName: 'main', commitId: COMMIT });
  });
});
