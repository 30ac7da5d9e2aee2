import { describeStep, progressLines } from '../../../cli/wait';
import type { RunStatus } from '../../../cli/status';

const run = (status: string, steps: RunStatus['steps'], extra: Partial<RunStatus> = {}): RunStatus => ({ stateMachine: 'sluice-local-build-abalone-1a2b3c4d', name: 'abalone-1', status, steps, ...extra });

describe('progressLines (what `sluice run --wait` prints while it waits)', () => {
  it('prints every step on the first look', () => {
    expect(progressLines(undefined, run('RUNNING', [{ name: 'Preprocess', status: 'succeeded', durationSeconds: 1.5 }, { name: 'Train', status: 'running' }]))).toEqual(['  Preprocess succeeded 1.5 s', '  Train running']);
  });

  it('then only the steps that appeared or changed', () => {
    const before = run('RUNNING', [{ name: 'Preprocess', status: 'succeeded' }, { name: 'Train', status: 'running' }]);
    const now = run('RUNNING', [{ name: 'Preprocess', status: 'succeeded' }, { name: 'Train', status: 'succeeded', durationSeconds: 3, cachedFrom: 'arn:aws:states:us-east-1:123456789012:execution:m:abalone-0' }, { name: 'Evaluate', status: 'running' }]);

    expect(progressLines(before, now)).toEqual(['  Train succeeded 3 s (cached from abalone-0)', '  Evaluate running']);
    expect(progressLines(now, now)).toEqual([]);
  });

  it("ends with the run's outcome, its error and cause", () => {
    const before = run('RUNNING', [{ name: 'QualityGate', status: 'running' }]);
    const now = run('FAILED', [{ name: 'QualityGate', status: 'failed' }], { error: 'QualityGateFailed', cause: 'mse = 7' });

    expect(progressLines(before, now)).toEqual(['  QualityGate failed', 'sluice-local-build-abalone-1a2b3c4d/abalone-1 FAILED: QualityGateFailed: mse = 7']);
  });
});

describe('describeStep', () => {
  it('says where a reused result came from', () => {
    expect(describeStep({ name: 'Train', status: 'succeeded', reusedFrom: 'arn:aws:states:us-east-1:123456789012:execution:m:abalone-0' })).toBe('Train succeeded (reused from abalone-0)');
  });
});
