import { StateMachine } from 'aws-local-stepfunctions';

import type { DatasetBuildInput } from '../../../shared/pipeline/triggers';
import { type Json, loadStateMachineDefinition, namedError, runPath, TEST_EVENT_BUS, throwing } from '../../helpers/asl';

/** Path tests of statemachines/dataset-build.asl.yaml, run in-process by aws-local-stepfunctions. */

const stateMachine = new StateMachine(loadStateMachineDefinition('dataset-build'));
const INPUT: DatasetBuildInput = { repository: 'abalone', branch: 'main', requestId: 'data-0123456789abcdef', settleSeconds: 0, dataset: 'abalone', key: 'datasets/abalone/part-1.csv' };
const CONTEXT = { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:sluice-test-dataset-build:abalone-data-0123456789abcdef' } };
const PUT_EVENTS_RESULT = { FailedEntryCount: 0, Entries: [{ EventId: '11710aed-b79e-4468-a20b-bb3c0c3b4860' }] };

describe('dataset-build state machine', () => {
  it('waits the debounce window, then requests one build of the branch under the window\'s request id', async () => {
    const run = await runPath(stateMachine, INPUT as unknown as Json, { RequestBuild: () => PUT_EVENTS_RESULT }, CONTEXT);

    expect(run.outcome.status).toBe('SUCCEEDED');
    expect(run.calls).toEqual([
      { state: 'RequestBuild', input: { Entries: [{ EventBusName: TEST_EVENT_BUS, Source: 'sluice', DetailType: 'Model Build Requested', Detail: { repository: 'abalone', branch: 'main', requestId: 'data-0123456789abcdef' } }] } },
    ]);
  });

  it('waits settleSeconds before the request', () => {
    const definition = loadStateMachineDefinition('dataset-build');

    expect(definition.StartAt).toBe('SettleUploads');
    expect(definition.States.SettleUploads).toMatchObject({ Type: 'Wait', SecondsPath: '$.settleSeconds', Next: 'RequestBuild' });
  });

  it('retries a rejected entry, then fails the run with EventBridge\'s error when it never goes through', async () => {
    let attempts = 0;
    const flakyRequest = () => {
      attempts += 1;
      if (attempts < 3) throw namedError('EventBridge.FailedEntry', 'throttled');
      return PUT_EVENTS_RESULT;
    };
    const flaky = await runPath(stateMachine, INPUT as unknown as Json, { RequestBuild: flakyRequest }, CONTEXT);
    const broken = await runPath(stateMachine, INPUT as unknown as Json, { RequestBuild: throwing(namedError('EventBridge.FailedEntry', '1 of 1 entries failed')) }, CONTEXT);

    expect(flaky.outcome.status).toBe('SUCCEEDED');
    expect(broken.outcome).toEqual({ status: 'FAILED', error: 'EventBridge.FailedEntry', cause: '1 of 1 entries failed' });
    expect(broken.calls).toHaveLength(7);
  });
});
