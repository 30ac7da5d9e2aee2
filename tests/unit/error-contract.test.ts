import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { compilePipeline } from '../../shared/pipeline/compile';
import { analysePipeline } from '../../shared/pipeline/graph';
import * as errors from '../../shared/errors';
import { ERROR_NAMES } from '../../shared/errors';
import { RETRYABLE_EXCEPTIONS } from '../../shared/schemas/mlops-v2';
import { manifestsNamedIn, parseMlopsConfig } from '../../shared/schemas/parse-mlops-config';
import { loadStateMachineDefinition } from '../helpers/asl';
import { ROOT } from '../helpers/fixtures';

/** Error names AWS itself raises; everything else in the ASL is ours. */
const AWS_PREFIXES = ['States.', 'Lambda.', 'EventBridge.', 'SageMaker.'];

interface State {
  Type: string;
  Resource?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[] }[];
  Error?: string;
  Parameters?: Record<string, unknown>;
  Branches?: { States: Record<string, State> }[];
}

const POLICY = { allowedInstanceTypes: ['ml.m5.xlarge', 'ml.m5.large'], maxRuntimeSeconds: 7200, maxInstanceCount: 4, maxVolumeSizeInGB: 512, selfApprovalRepositories: [] };
const TARGETS = {
  snapshotSourceFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-snapshotSource',
  startJobFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-startJob',
  evaluateStepFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-evaluateStep',
  registerModelFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-registerModel',
  eventBusName: 'sluice-test',
};

function compiled(file: string): Record<string, State> {
  // An example's repository is named after its folder (examples/<repository>/mlops.yaml).
  const text = readFileSync(join(ROOT, file), 'utf8');
  // The manifests its steps name, read beside it as start-build reads them from the commit.
  const files = Object.fromEntries(manifestsNamedIn(text).map((path) => [path, readFileSync(join(ROOT, dirname(file), path), 'utf8')]));
  const pipeline = parseMlopsConfig(text, POLICY, file.split('/').at(-2) ?? '', { files });
  return (compilePipeline(pipeline, analysePipeline(pipeline).graph, TARGETS).definition as { States: Record<string, State> }).States;
}

/** The static definitions, and compiled pipelines: both examples and a fixture using every RetryPolicies exception type. */
const definitions = [
  ...readdirSync(join(ROOT, 'statemachines'))
    .filter((file) => file.endsWith('.asl.yaml'))
    // Intrinsics resolved (the Task Resources are Fn::Join for the partition) as Step Functions would see them.
    .map((file) => ({ file, states: loadStateMachineDefinition(file.replace(/\.asl\.yaml$/, '')).States as unknown as Record<string, State> })),
  ...['examples/abalone/mlops.yaml', 'examples/abalone-age/mlops.yaml', 'examples/abalone-segments/mlops.yaml', 'tests/fixtures/pipelines/retry.yaml'].map((file) => ({ file: `${file} (compiled)`, states: compiled(file) })),
];

/** Every state, Parallel branches included. */
function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [[name, state] as [string, State], ...(state.Branches ?? []).flatMap((branch) => allStates(branch.States))]);
}

/** Every error name a definition mentions: Retry/Catch ErrorEquals, Fail `Error`, and literal `Error` in Parameters. */
function namesIn(states: Record<string, State>): Set<string> {
  const names = new Set<string>();
  for (const [, state] of allStates(states)) {
    for (const rule of [...(state.Retry ?? []), ...(state.Catch ?? [])]) rule.ErrorEquals.forEach((name) => names.add(name));
    if (state.Error) names.add(state.Error);
    if (typeof state.Parameters?.Error === 'string') names.add(state.Parameters.Error);
  }
  return names;
}

const ours = (name: string) => !AWS_PREFIXES.some((prefix) => name.startsWith(prefix));
const declared = Object.keys(ERROR_NAMES);
const named = (kind: string) => declared.filter((name) => ERROR_NAMES[name as keyof typeof ERROR_NAMES] === kind);

describe('error names: the contract between code and state machines', () => {
  it('finds the static definitions and the compiled pipelines', () => {
    expect(definitions.length).toBeGreaterThanOrEqual(5);
  });

  it.each(definitions)('every custom error name in $file is declared in shared/errors.ts', ({ states }) => {
    const undeclared = [...namesIn(states)].filter(ours).filter((name) => !declared.includes(name));

    expect(undeclared).toEqual([]);
  });

  it.each(definitions)('every Lambda task in $file retries the retryable errors', ({ states }) => {
    const lambdaTasks = allStates(states).filter(([, state]) => state.Type === 'Task' && state.Resource?.includes(':lambda:'));

    for (const [name, state] of lambdaTasks) {
      const retried = (state.Retry ?? []).flatMap((rule) => rule.ErrorEquals);
      expect({ state: name, missing: named('retry').filter((error) => !retried.includes(error)) }).toEqual({ state: name, missing: [] });
    }
  });

  it('every exception type of RetryPolicies compiles to names shared/errors.ts declares (or AWS raises)', () => {
    const text = `Version: 2
Steps:
  job:
    Type: Processing
    AppSpecification: { ImageUri: image }
    ProcessingResources: { ClusterConfig: { InstanceType: ml.m5.large } }
    RetryPolicies: [{ ExceptionType: [${RETRYABLE_EXCEPTIONS.join(', ')}] }]
`;
    const pipeline = parseMlopsConfig(text, POLICY, 'abalone');
    const states = (compilePipeline(pipeline, analysePipeline(pipeline).graph, TARGETS).definition as { States: Record<string, State> }).States;
    const names = [...namesIn(states)];

    expect(names.filter(ours).filter((name) => !declared.includes(name))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['SageMakerCapacityError', 'SageMakerInternalError', 'SageMakerResourceLimit', 'RetryableError', 'Lambda.ServiceException']));
  });

  it('the names a rejected build fails with are the ones on-source-push puts in its input: only InvalidConfig', () => {
    expect(named('input')).toEqual(['InvalidConfig']);
  });

  it.each(definitions.filter(({ file }) => file.endsWith('(compiled)')))('$file fails the run with SourceTooLarge at its source snapshot: no Retry or Catch names it', ({ states }) => {
    const snapshot = states['Source snapshot'];
    const handled = [...(snapshot?.Retry ?? []), ...(snapshot?.Catch ?? [])].flatMap((rule) => rule.ErrorEquals);

    expect({ type: snapshot?.Type, resource: snapshot?.Resource, handled: handled.filter((name) => ['SourceTooLarge', 'States.ALL', 'States.TaskFailed'].includes(name)) }).toEqual({
      type: 'Task',
      resource: TARGETS.snapshotSourceFunctionArn,
      handled: [],
    });
  });

  it("every Fail-step name Sluice writes is a Fail step's error: the default, and Version 1's quality gate", () => {
    const v1 = parseMlopsConfig(readFileSync(join(ROOT, 'examples', 'abalone', 'mlops.yaml'), 'utf8'), POLICY, 'abalone');
    const v2 = parseMlopsConfig('Version: 2\nSteps:\n  stop:\n    Type: Fail\n    ErrorMessage: stop\n', POLICY, 'abalone');
    const errorsOf = (pipeline: typeof v1) => Object.values(pipeline.Steps).flatMap((step) => (step.Type === 'Fail' ? [step.Error] : []));

    expect([...errorsOf(v1), ...errorsOf(v2)].sort()).toEqual(named('fail-step').sort());
  });

  it('every declared name belongs to exactly one error class, and every error class is declared', () => {
    type ConcreteError = new (message: string) => errors.SluiceError;
    const classes = Object.values(errors).filter(
      (value) => typeof value === 'function' && value.prototype instanceof errors.SluiceError && !Object.is(value, errors.SluiceError),
    ) as unknown as ConcreteError[];
    const classNames = classes.map((ErrorClass) => new ErrorClass('probe').name).sort();

    expect(classNames).toEqual([...declared].sort());
  });
});
