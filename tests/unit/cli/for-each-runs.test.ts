import type { HistoryEvent } from '@aws-sdk/client-sfn';

import { runJobs } from '../../../cli/logs';
import { stepsOf } from '../../../cli/status';
import { jobName, tuningJobName } from '../../../shared/naming';

/**
 * `sluice status` and `sluice logs` over a run with a ForEach: its inner steps' states are entered
 * once per item, at the same time, and each item's job is named after `<ForEach>-<index>-<step>`.
 */

const RUN_ARN = 'arn:aws:states:eu-west-1:111122223333:execution:sluice-prod-build-abalone-1a2b3c4d:abalone-0123456789ab-f00d42';
let id = 0;
const at = () => new Date(Date.UTC(2026, 11, 4, 12, 0, ++id));
const entered = (type: string, name: string): HistoryEvent => ({ id: ++id, timestamp: at(), type: type as HistoryEvent['type'], stateEnteredEventDetails: { name } });
const exited = (type: string, name: string): HistoryEvent => ({ id: ++id, timestamp: at(), type: type as HistoryEvent['type'], stateExitedEventDetails: { name, output: '{}' } });
/** A start-job task of `step` (for `index` of per-sex when given), as Step Functions records it. */
function scheduled(step: string, index?: number): HistoryEvent {
  const item = index === undefined ? {} : { item: { forEach: 'per-sex', index, value: ['M', 'F', 'I'][index] } };
  return {
    id: ++id,
    timestamp: at(),
    type: 'TaskScheduled',
    taskScheduledEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken', region: 'eu-west-1', parameters: JSON.stringify({ FunctionName: 'f', Payload: { taskToken: 't', step, build: { repository: 'abalone' }, ...item } }) },
  };
}

/** per-sex's Map with three iterations of train-one; the one of item 2 has not exited yet. */
const history = (): HistoryEvent[] => [
  entered('TaskStateEntered', 'per-sex'),
  exited('TaskStateExited', 'per-sex'),
  entered('MapStateEntered', 'per-sex (each)'),
  ...[0, 1, 2].flatMap((index) => [entered('TaskStateEntered', 'train-one'), scheduled('train-one', index)]),
  exited('TaskStateExited', 'train-one'),
  exited('TaskStateExited', 'train-one'),
];

describe('stepsOf with a ForEach', () => {
  it('shows an inner step once, running while any item\'s is', () => {
    expect(stepsOf(history()).map((step) => [step.name, step.status])).toEqual([
      ['per-sex', 'succeeded'],
      ['train-one', 'running'],
    ]);
  });

  it('shows it succeeded once every item\'s has exited', () => {
    const steps = stepsOf([...history(), exited('TaskStateExited', 'train-one')]);

    expect(steps.find((step) => step.name === 'train-one')?.status).toBe('succeeded');
  });

  it('shows it failed when the run fails while an item still runs it', () => {
    const steps = stepsOf([...history(), { id: ++id, timestamp: at(), type: 'ExecutionFailed' }]);

    expect(steps.find((step) => step.name === 'train-one')?.status).toBe('failed');
  });
});

describe('runJobs with a ForEach', () => {
  it('lists one job per item, named <ForEach>-<index>-<step>', () => {
    expect(runJobs([scheduled('prepare'), ...history()], RUN_ARN, 'sluice-prod')).toEqual([
      { step: 'prepare', jobName: jobName('sluice-prod', 'abalone', 'prepare', RUN_ARN), tuningJobName: tuningJobName('sluice-prod', 'abalone', 'prepare', RUN_ARN) },
      ...[0, 1, 2].map((index) => ({ step: `per-sex-${index}-train-one`, jobName: jobName('sluice-prod', 'abalone', `per-sex-${index}-train-one`, RUN_ARN), tuningJobName: tuningJobName('sluice-prod', 'abalone', `per-sex-${index}-train-one`, RUN_ARN), innerStep: 'train-one' })),
    ]);
  });
});
