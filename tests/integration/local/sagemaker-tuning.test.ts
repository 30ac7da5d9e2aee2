/**
 * The local SageMaker's hyperparameter tuning jobs, engine and API, with no process: the training
 * jobs are a fake TrialLauncher the tests end by hand, as the training jobs' observer would; the
 * last test wires them to the real training jobs, whose image has no command (nothing starts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { LocalEventEntry } from '../../../local/context';
import { AwsServiceError } from '../../../local/http/aws-json';
import { validationError } from '../../../local/sagemaker/common';
import { TagStore } from '../../../local/sagemaker/tags';
import type { TrainingDescribe } from '../../../local/sagemaker/training-jobs';
import { DETAIL_TYPE_TUNING, type TrialLauncher, TuningJobs } from '../../../local/sagemaker/tuning-jobs';
import { createHarness, type Harness, IMAGES, waitFor } from '../../fixtures/local-images/harness';
import { serviceContext } from '../../helpers/service-context';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/sluice-test-sagemaker';
/** AWS's documented sample event (the developer guide's; its status is a placeholder). */
const AWS_SAMPLE = join(__dirname, '../../fixtures/conformance/aws-events/sagemaker-hyperparameter-tuning-job-state-change.json');
const OBJECTIVE = 'validation:score';

/** Training jobs that run until the test ends them. */
class FakeTrainingJobs implements TrialLauncher {
  readonly jobs = new Map<string, TrainingDescribe>();
  readonly requests: Record<string, unknown>[] = [];
  readonly stopped: string[] = [];
  maxRunning = 0;

  validate(request: Record<string, unknown>): void {
    if (typeof request.RoleArn !== 'string') throw validationError("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must not be null");
  }

  createForTuningJob(request: Record<string, unknown>, tuningJobArn: string): void {
    this.validate(request);
    const name = request.TrainingJobName as string;
    this.requests.push(request);
    this.jobs.set(name, {
      TrainingJobName: name,
      TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${name}`,
      TuningJobArn: tuningJobArn,
      TrainingJobStatus: 'InProgress',
      HyperParameters: request.HyperParameters as Record<string, string>,
      CreationTime: 1_700_000_000,
    } as TrainingDescribe);
    this.maxRunning = Math.max(this.maxRunning, this.running().length);
  }

  stop(name: string): void {
    const job = this.jobs.get(name);
    if (!job || job.TrainingJobStatus !== 'InProgress') throw new AwsServiceError('ValidationException', `not running: ${name}`);
    this.stopped.push(name);
    job.TrainingJobStatus = 'Stopping';
  }

  find(name: string): TrainingDescribe | undefined {
    return this.jobs.get(name);
  }

  running(): string[] {
    return [...this.jobs.values()].filter((job) => job.TrainingJobStatus === 'InProgress' || job.TrainingJobStatus === 'Stopping').map((job) => job.TrainingJobName!);
  }

  /** Ends a job as the training jobs record it; the test hands the record to trainingEnded. */
  end(name: string, status: 'Completed' | 'Failed' | 'Stopped', objective?: number): TrainingDescribe {
    const job = this.jobs.get(name)!;
    Object.assign(job, {
      TrainingJobStatus: status,
      TrainingEndTime: 1_700_000_100,
      FinalMetricDataList: objective === undefined ? [] : [{ MetricName: OBJECTIVE, Value: objective, Timestamp: 1_700_000_100 }],
      ...(status === 'Failed' ? { FailureReason: 'AlgorithmError: boom' } : {}),
    });
    return job;
  }
}

let root: string;
let events: LocalEventEntry[];
let training: FakeTrainingJobs;
let tuning: TuningJobs;

function makeTuning(launcher: TrialLauncher = training): TuningJobs {
  const ctx = serviceContext(join(root, 'data'), events);
  return new TuningJobs({ ctx, tags: new TagStore(join(root, 'data', 'tags')), shuttingDown: () => false }, launcher);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-tuning-'));
  events = [];
  training = new FakeTrainingJobs();
  tuning = makeTuning();
});

afterEach(() => {
  tuning.disarm();
  rmSync(root, { recursive: true, force: true });
});

function request(name: string, config: Record<string, unknown> = {}, definition: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    HyperParameterTuningJobName: name,
    HyperParameterTuningJobConfig: {
      Strategy: 'Random',
      RandomSeed: 7,
      HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: OBJECTIVE },
      ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 },
      ParameterRanges: {
        ContinuousParameterRanges: [{ Name: 'x', MinValue: '0', MaxValue: '1', ScalingType: 'Linear' }],
        IntegerParameterRanges: [{ Name: 'depth', MinValue: '2', MaxValue: '8' }],
      },
      ...config,
    },
    TrainingJobDefinition: {
      AlgorithmSpecification: { TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/tuner:latest', TrainingInputMode: 'File', MetricDefinitions: [{ Name: OBJECTIVE, Regex: 'validation:score=([0-9.]+)' }] },
      StaticHyperParameters: { epochs: '3' },
      RoleArn: ROLE_ARN,
      InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://artifacts/data/train/' } } }],
      OutputDataConfig: { S3OutputPath: 's3://artifacts/tuning/' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
      ...definition,
    },
    Tags: [{ Key: 'sluice:repository', Value: 'abalone' }],
  };
}

async function call(operation: string, input: Record<string, unknown>, service = tuning): Promise<Record<string, unknown>> {
  return JSON.parse(JSON.stringify(await service.operations()[operation]!(input))) as Record<string, unknown>;
}

const describe_ = (name: string, service = tuning) => call('DescribeHyperParameterTuningJob', { HyperParameterTuningJobName: name }, service);

/** Ends the running trials one by one (oldest first) with `outcome(hyperparameters)` until none runs. */
function runToEnd(outcome: (hp: Record<string, string>, index: number) => { status: 'Completed' | 'Failed'; objective?: number }, service = tuning): void {
  let index = 0;
  for (let name = training.running()[0]; name; name = training.running()[0]) {
    const { status, objective } = outcome(training.jobs.get(name)!.HyperParameters!, index++);
    service.trainingEnded(training.end(name, status, objective));
  }
}

const score = (hp: Record<string, string>) => 1 - (Number(hp.x) - 0.3) ** 2 - 0.01 * (Number(hp.depth) - 4) ** 2;

describe('CreateHyperParameterTuningJob', () => {
  it('launches MaxParallelTrainingJobs training jobs at once, named <tuning job>-<NNN>-<8 hex>, with the static and tuned hyperparameters as strings', async () => {
    const { HyperParameterTuningJobArn } = await call('CreateHyperParameterTuningJob', request('tune-abalone'));

    expect(HyperParameterTuningJobArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/tune-abalone');
    expect(training.running()).toHaveLength(2);
    expect(training.requests.map((r) => r.TrainingJobName)).toEqual([expect.stringMatching(/^tune-abalone-001-[0-9a-f]{8}$/), expect.stringMatching(/^tune-abalone-002-[0-9a-f]{8}$/)]);
    const first = training.requests[0]!;
    expect(first.HyperParameters).toEqual({ epochs: '3', x: expect.stringMatching(/^[0-9.e-]+$/), depth: expect.stringMatching(/^[2-8]$/) });
    expect(first).toMatchObject({ RoleArn: ROLE_ARN, OutputDataConfig: { S3OutputPath: 's3://artifacts/tuning/' }, Tags: [{ Key: 'sluice:repository', Value: 'abalone' }] });
    expect(first).not.toHaveProperty('StaticHyperParameters');
    expect(training.jobs.get(first.TrainingJobName as string)!.TuningJobArn).toBe(HyperParameterTuningJobArn);
  });

  it('never runs more than MaxParallelTrainingJobs and launches MaxNumberOfTrainingJobs in all, then Completes with the best one', async () => {
    await call('CreateHyperParameterTuningJob', request('tune-caps', { ResourceLimits: { MaxNumberOfTrainingJobs: 5, MaxParallelTrainingJobs: 2 } }));

    runToEnd((hp) => ({ status: 'Completed', objective: score(hp) }));

    expect(training.maxRunning).toBe(2);
    expect(training.requests).toHaveLength(5);
    const job = await describe_('tune-caps');
    expect(job).toMatchObject({
      HyperParameterTuningJobStatus: 'Completed',
      TrainingJobStatusCounters: { Completed: 5, InProgress: 0, RetryableError: 0, NonRetryableError: 0, Stopped: 0 },
      ObjectiveStatusCounters: { Succeeded: 5, Pending: 0, Failed: 0 },
    });
    const scores = training.requests.map((r) => score(r.HyperParameters as Record<string, string>));
    const bestIndex = scores.indexOf(Math.max(...scores));
    expect(job.BestTrainingJob).toMatchObject({
      TrainingJobName: training.requests[bestIndex]!.TrainingJobName,
      TuningJobName: 'tune-caps',
      TrainingJobStatus: 'Completed',
      ObjectiveStatus: 'Succeeded',
      FinalHyperParameterTuningJobObjectiveMetric: { Type: 'Maximize', MetricName: OBJECTIVE, Value: scores[bestIndex] },
      TunedHyperParameters: { x: (training.requests[bestIndex]!.HyperParameters as Record<string, string>).x, depth: (training.requests[bestIndex]!.HyperParameters as Record<string, string>).depth },
    });
    expect(typeof job.HyperParameterTuningEndTime).toBe('number');
  });

  it('proposes the same trials for the same RandomSeed, and others for another seed', async () => {
    const tuned = () => training.requests.map((r) => ({ x: (r.HyperParameters as Record<string, string>).x, depth: (r.HyperParameters as Record<string, string>).depth }));
    await call('CreateHyperParameterTuningJob', request('seeded-a'));
    runToEnd((hp) => ({ status: 'Completed', objective: score(hp) }));
    const first = tuned();
    training = new FakeTrainingJobs();
    tuning = makeTuning();
    await call('CreateHyperParameterTuningJob', request('seeded-b'));
    runToEnd((hp) => ({ status: 'Completed', objective: score(hp) }));
    const again = tuned();
    training = new FakeTrainingJobs();
    tuning = makeTuning();
    await call('CreateHyperParameterTuningJob', request('seeded-c', { RandomSeed: 8 }));
    runToEnd((hp) => ({ status: 'Completed', objective: score(hp) }));

    expect(again).toEqual(first);
    expect(new Set(first.map((t) => JSON.stringify(t))).size).toBe(4);
    expect(tuned()).not.toEqual(first);
  });

  it('runs a Bayesian search sequentially: the proposal after the initial trials depends on their objective values', async () => {
    const bayesian = { Strategy: 'Bayesian', ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 1 } };
    const fourth = async (name: string, objective: (hp: Record<string, string>) => number) => {
      training = new FakeTrainingJobs();
      tuning = makeTuning();
      await call('CreateHyperParameterTuningJob', request(name, { ...bayesian, RandomSeed: 3 }));
      runToEnd((hp) => ({ status: 'Completed', objective: objective(hp) }));
      return training.requests.map((r) => r.HyperParameters as Record<string, string>);
    };

    const towardHigh = await fourth('bayes-high', (hp) => Number(hp.x));
    const towardLow = await fourth('bayes-low', (hp) => -Number(hp.x));

    expect(towardHigh.slice(0, 3)).toEqual(towardLow.slice(0, 3));
    expect(Number(towardHigh[3]!.x)).toBeGreaterThan(Number(towardLow[3]!.x));
  });

  it('goes on past a failed training job, counts it as NonRetryableError, and Completes with the best successful one', async () => {
    await call('CreateHyperParameterTuningJob', request('one-fails'));

    runToEnd((hp, index) => (index === 0 ? { status: 'Failed' } : { status: 'Completed', objective: score(hp) }));

    const job = await describe_('one-fails');
    expect(training.requests).toHaveLength(4);
    expect(job).toMatchObject({
      HyperParameterTuningJobStatus: 'Completed',
      TrainingJobStatusCounters: { Completed: 3, NonRetryableError: 1, InProgress: 0 },
      ObjectiveStatusCounters: { Succeeded: 3, Failed: 1, Pending: 0 },
    });
    expect(job.BestTrainingJob).toMatchObject({ TrainingJobStatus: 'Completed' });
    expect((job.BestTrainingJob as { TrainingJobName: string }).TrainingJobName).not.toBe(training.requests[0]!.TrainingJobName);
  });

  it('fails the tuning job when every training job fails, with SageMaker\'s reason', async () => {
    await call('CreateHyperParameterTuningJob', request('all-fail', { ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 2 } }));

    runToEnd(() => ({ status: 'Failed' }));

    const job = await describe_('all-fail');
    expect(job).toMatchObject({
      HyperParameterTuningJobStatus: 'Failed',
      FailureReason: 'No training job succeeded after 3 attempts. Please take a look at the training job failures to get more details.',
      TrainingJobStatusCounters: { NonRetryableError: 3 },
    });
    expect(job).not.toHaveProperty('BestTrainingJob');
  });

  it('fails after 5 failed training jobs without a success, stopping the one still running and launching no more', async () => {
    await call('CreateHyperParameterTuningJob', request('five-fail', { ResourceLimits: { MaxNumberOfTrainingJobs: 20, MaxParallelTrainingJobs: 2 } }));

    for (let i = 0; i < 5; i += 1) tuning.trainingEnded(training.end(training.running()[0]!, 'Failed'));
    const stillRunning = training.running();
    expect(stillRunning).toHaveLength(1);
    expect(training.stopped).toEqual(stillRunning);
    tuning.trainingEnded(training.end(stillRunning[0]!, 'Stopped'));

    expect(training.requests).toHaveLength(6);
    expect(await describe_('five-fail')).toMatchObject({ HyperParameterTuningJobStatus: 'Failed', FailureReason: expect.stringContaining('No training job succeeded after 6 attempts') });
  });

  it('completes early once TuningJobCompletionCriteria.TargetObjectiveMetricValue is reached', async () => {
    await call('CreateHyperParameterTuningJob', request('target', { ResourceLimits: { MaxNumberOfTrainingJobs: 10, MaxParallelTrainingJobs: 1 }, TuningJobCompletionCriteria: { TargetObjectiveMetricValue: 0.5 } }));

    runToEnd(() => ({ status: 'Completed', objective: 0.9 }));

    expect(training.requests).toHaveLength(1);
    expect(await describe_('target')).toMatchObject({ HyperParameterTuningJobStatus: 'Completed', BestTrainingJob: { FinalHyperParameterTuningJobObjectiveMetric: { Value: 0.9 } } });
  });

  it('ends at ResourceLimits.MaxRuntimeInSeconds with the best job so far, stopping the running ones', async () => {
    jest.useFakeTimers({ now: Date.now() });
    try {
      await call('CreateHyperParameterTuningJob', request('deadline', { ResourceLimits: { MaxNumberOfTrainingJobs: 10, MaxParallelTrainingJobs: 2, MaxRuntimeInSeconds: 120 } }));
      tuning.trainingEnded(training.end(training.running()[0]!, 'Completed', 0.7));
      const running = training.running();
      jest.advanceTimersByTime(119_000);
      expect(training.stopped).toEqual([]);

      jest.advanceTimersByTime(2_000);

      expect(training.stopped).toEqual(running);
      for (const name of running) tuning.trainingEnded(training.end(name, 'Stopped'));
      expect(training.requests).toHaveLength(3);
      expect(await describe_('deadline')).toMatchObject({
        HyperParameterTuningJobStatus: 'Completed',
        TrainingJobStatusCounters: { Completed: 1, Stopped: 2 },
        BestTrainingJob: { FinalHyperParameterTuningJobObjectiveMetric: { Value: 0.7 } },
      });
    } finally {
      jest.useRealTimers();
    }
  });

  it('publishes SageMaker HyperParameter Tuning Job State Change events InProgress then Completed, shaped as Describe', async () => {
    await call('CreateHyperParameterTuningJob', request('evented'));
    runToEnd((hp) => ({ status: 'Completed', objective: score(hp) }));
    await tuning.settled();

    expect(events.map((e) => [e.DetailType, (e.Detail as Record<string, unknown>).HyperParameterTuningJobStatus])).toEqual([
      [DETAIL_TYPE_TUNING, 'InProgress'],
      [DETAIL_TYPE_TUNING, 'Completed'],
    ]);
    const completed = events[1]!;
    expect(completed).toMatchObject({ Source: 'aws.sagemaker', Resources: ['arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/evented'] });
    expect(completed.Detail).toMatchObject({
      HyperParameterTuningJobName: 'evented',
      TrainingJobStatusCounters: { Completed: 4 },
      ObjectiveStatusCounters: { Succeeded: 4 },
      BestTrainingJob: { ObjectiveStatus: 'Succeeded' },
      TrainingJobDefinition: { StaticHyperParameters: { epochs: '3' } },
      Tags: { 'sluice:repository': 'abalone' },
    });
    // Times in milliseconds, as in AWS's samples.
    expect((completed.Detail as { CreationTime: number }).CreationTime).toBeGreaterThan(1e12);
  });

  it("carries every field of AWS's documented sample event, nested ones included", async () => {
    await call('CreateHyperParameterTuningJob', request('sampled', {}, { VpcConfig: { SecurityGroupIds: ['sg-1'], Subnets: ['subnet-1'] } }));
    await tuning.settled();
    const sample = JSON.parse(readFileSync(AWS_SAMPLE, 'utf8')) as { 'detail-type': string; source: string; detail: Record<string, Record<string, unknown>> };
    const detail = events[0]!.Detail as Record<string, Record<string, unknown>>;

    expect([events[0]!.DetailType, events[0]!.Source]).toEqual([sample['detail-type'], sample.source]);
    expect(Object.keys(detail)).toEqual(expect.arrayContaining(Object.keys(sample.detail)));
    for (const key of ['TrainingJobDefinition', 'TrainingJobStatusCounters', 'ObjectiveStatusCounters']) {
      expect(Object.keys(detail[key]!)).toEqual(expect.arrayContaining(Object.keys(sample.detail[key]!)));
    }
  });

  it.each([
    ['a name over 32 characters', { HyperParameterTuningJobName: 'a'.repeat(33) }, /hyperParameterTuningJobName.*\{0,31\}/],
    ['Hyperband', { HyperParameterTuningJobConfig: { ...(request('x').HyperParameterTuningJobConfig as object), Strategy: 'Hyperband' } }, /'Hyperband' is not supported by the local runtime; use Bayesian, Random or Grid/],
    [
      'an objective metric not among the MetricDefinitions',
      { HyperParameterTuningJobConfig: { ...(request('x').HyperParameterTuningJobConfig as object), HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'validation:auc' } } },
      /A metric is required for this hyperparameter tuning job objective.*validation:auc/,
    ],
    ['a hyperparameter both static and tuned', { TrainingJobDefinition: { ...(request('x').TrainingJobDefinition as object), StaticHyperParameters: { depth: '3' } } }, /'depth' is in both TrainingJobDefinition.StaticHyperParameters and/],
    ['a training job definition CreateTrainingJob would refuse', { TrainingJobDefinition: { ...(request('x').TrainingJobDefinition as object), RoleArn: undefined } }, /roleArn/],
    ['MaxRuntimeInSeconds under 120', { HyperParameterTuningJobConfig: { ...(request('x').HyperParameterTuningJobConfig as object), ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2, MaxRuntimeInSeconds: 60 } } }, /ResourceLimits.MaxRuntimeInSeconds.*between 120 and 15768000/],
    ['MaxParallelTrainingJobs 0', { HyperParameterTuningJobConfig: { ...(request('x').HyperParameterTuningJobConfig as object), ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 0 } } }, /ResourceLimits.MaxParallelTrainingJobs/],
  ])('refuses %s with a ValidationException naming it, and launches nothing', async (_case, override, message) => {
    await expect(call('CreateHyperParameterTuningJob', { ...request('refused'), ...override })).rejects.toThrow(message);
    expect(training.requests).toHaveLength(0);
    expect(tuning.has('refused')).toBe(false);
  });

  it('names every training job after the tuning job as it was spelt, however its end comes back', async () => {
    await call('CreateHyperParameterTuningJob', request('Tune-Mixed', { ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 1 } }));

    runToEnd((hp) => ({ status: 'Completed', objective: score(hp) }));

    expect(training.requests.map((r) => r.TrainingJobName)).toEqual([1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^Tune-Mixed-00${i}-[0-9a-f]{8}$`))));
    expect(await describe_('tune-mixed')).toMatchObject({ HyperParameterTuningJobName: 'Tune-Mixed', HyperParameterTuningJobStatus: 'Completed' });
  });

  it('refuses a second tuning job of the same name (any case) with ResourceInUse', async () => {
    await call('CreateHyperParameterTuningJob', request('twice'));

    await expect(call('CreateHyperParameterTuningJob', request('TWICE'))).rejects.toMatchObject({ code: 'ResourceInUse' });
  });
});

describe('StopHyperParameterTuningJob', () => {
  it('stops the running training jobs, launches no more, and ends Stopped once they have', async () => {
    await call('CreateHyperParameterTuningJob', request('stopped'));
    tuning.trainingEnded(training.end(training.running()[0]!, 'Completed', 0.5));
    const running = training.running();

    await call('StopHyperParameterTuningJob', { HyperParameterTuningJobName: 'stopped' });

    expect(training.stopped).toEqual(running);
    expect(await describe_('stopped')).toMatchObject({ HyperParameterTuningJobStatus: 'Stopping' });
    for (const name of running) tuning.trainingEnded(training.end(name, 'Stopped'));
    await tuning.settled();
    const job = await describe_('stopped');
    expect(training.requests).toHaveLength(3);
    expect(job).toMatchObject({ HyperParameterTuningJobStatus: 'Stopped', TrainingJobStatusCounters: { Completed: 1, Stopped: 2 }, BestTrainingJob: { FinalHyperParameterTuningJobObjectiveMetric: { Value: 0.5 } } });
    expect(events.map((e) => (e.Detail as Record<string, unknown>).HyperParameterTuningJobStatus)).toEqual(['InProgress', 'Stopping', 'Stopped']);
  });

  it('answers ResourceNotFound for an unknown tuning job and ValidationException for one that ended', async () => {
    await call('CreateHyperParameterTuningJob', request('ended', { ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 } }));
    runToEnd(() => ({ status: 'Completed', objective: 1 }));

    await expect(call('StopHyperParameterTuningJob', { HyperParameterTuningJobName: 'nope' })).rejects.toMatchObject({ code: 'ResourceNotFound' });
    await expect(call('StopHyperParameterTuningJob', { HyperParameterTuningJobName: 'ended' })).rejects.toThrow(/tuning job is in status Completed/);
  });
});

describe('early stopping (TrainingJobEarlyStoppingType Auto)', () => {
  it('stops a training job whose objective at an epoch is worse than the median of the earlier jobs, and still counts its objective', async () => {
    await call('CreateHyperParameterTuningJob', request('early', { TrainingJobEarlyStoppingType: 'Auto', ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 1 } }));
    const first = training.running()[0]!;
    for (const value of [0.5, 0.7, 0.9]) tuning.metricReported(training.jobs.get(first)!, OBJECTIVE, value);
    tuning.trainingEnded(training.end(first, 'Completed', 0.9));
    const second = training.running()[0]!;

    tuning.metricReported(training.jobs.get(second)!, OBJECTIVE, 0.6);
    expect(training.stopped).toEqual([]);
    tuning.metricReported(training.jobs.get(second)!, OBJECTIVE, 0.55);

    expect(training.stopped).toEqual([second]);
    tuning.trainingEnded(training.end(second, 'Stopped', 0.55));
    const summaries = (await call('ListTrainingJobsForHyperParameterTuningJob', { HyperParameterTuningJobName: 'early' })).TrainingJobSummaries as Record<string, unknown>[];
    expect(summaries.find((s) => s.TrainingJobName === second)).toMatchObject({ TrainingJobStatus: 'Stopped', ObjectiveStatus: 'Succeeded', FinalHyperParameterTuningJobObjectiveMetric: { Value: 0.55 } });
  });

  it('ignores the metrics when early stopping is Off', async () => {
    await call('CreateHyperParameterTuningJob', request('no-early', { ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 1 } }));
    const first = training.running()[0]!;
    for (const value of [0.5, 0.9]) tuning.metricReported(training.jobs.get(first)!, OBJECTIVE, value);
    tuning.trainingEnded(training.end(first, 'Completed', 0.9));

    tuning.metricReported(training.jobs.get(training.running()[0]!)!, OBJECTIVE, 0.01);

    expect(training.stopped).toEqual([]);
  });
});

describe('listing', () => {
  it('lists the training jobs of a tuning job sorted by FinalObjectiveMetricValue, leaving out those without one', async () => {
    await call('CreateHyperParameterTuningJob', request('listed'));
    runToEnd((hp, index) => (index === 1 ? { status: 'Failed' } : { status: 'Completed', objective: index / 10 }));

    const page = await call('ListTrainingJobsForHyperParameterTuningJob', { HyperParameterTuningJobName: 'listed', SortBy: 'FinalObjectiveMetricValue', SortOrder: 'Descending', MaxResults: 2 });
    const rest = await call('ListTrainingJobsForHyperParameterTuningJob', { HyperParameterTuningJobName: 'listed', SortBy: 'FinalObjectiveMetricValue', SortOrder: 'Descending', NextToken: page.NextToken });
    const failed = await call('ListTrainingJobsForHyperParameterTuningJob', { HyperParameterTuningJobName: 'listed', StatusEquals: 'Failed' });

    const values = [...(page.TrainingJobSummaries as Record<string, { Value: number }>[]), ...(rest.TrainingJobSummaries as Record<string, { Value: number }>[])].map((s) => s.FinalHyperParameterTuningJobObjectiveMetric!.Value);
    expect(values).toEqual([0.3, 0.2, 0]);
    expect(failed.TrainingJobSummaries).toEqual([expect.objectContaining({ TrainingJobStatus: 'Failed', ObjectiveStatus: 'Failed', FailureReason: 'AlgorithmError: boom', TuningJobName: 'listed' })]);
    await expect(call('ListTrainingJobsForHyperParameterTuningJob', { HyperParameterTuningJobName: 'nope' })).rejects.toMatchObject({ code: 'ResourceNotFound' });
  });

  it('lists tuning jobs by name (default), filtered by NameContains and StatusEquals', async () => {
    await call('CreateHyperParameterTuningJob', request('b-tune'));
    await call('CreateHyperParameterTuningJob', request('a-tune', { ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 } }));
    await call('CreateHyperParameterTuningJob', request('other'));
    tuning.trainingEnded(training.end(training.requests.find((r) => String(r.TrainingJobName).startsWith('a-tune'))!.TrainingJobName as string, 'Completed', 1));

    const all = await call('ListHyperParameterTuningJobs', { NameContains: 'tune' });
    const completed = await call('ListHyperParameterTuningJobs', { StatusEquals: 'Completed' });

    expect((all.HyperParameterTuningJobSummaries as Record<string, unknown>[]).map((s) => s.HyperParameterTuningJobName)).toEqual(['a-tune', 'b-tune']);
    expect(completed.HyperParameterTuningJobSummaries).toEqual([
      expect.objectContaining({ HyperParameterTuningJobName: 'a-tune', Strategy: 'Random', TrainingJobStatusCounters: expect.objectContaining({ Completed: 1 }), ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 } }),
    ]);
  });
});

describe('after a restart', () => {
  it('notes training jobs that ended unnoticed, creates those it recorded but never created, and spends the rest of its budget', async () => {
    await call('CreateHyperParameterTuningJob', request('durable'));
    const [first, second] = training.running();
    training.end(first!, 'Completed', 0.4);
    training.jobs.delete(second!);
    const restarted = makeTuning();

    await restarted.recover();

    expect(training.requests.map((r) => r.TrainingJobName)).toEqual([first, second, second, expect.stringMatching(/^durable-003-/)]);
    runToEnd((hp) => ({ status: 'Completed', objective: score(hp) }), restarted);
    expect(await describe_('durable', restarted)).toMatchObject({ HyperParameterTuningJobStatus: 'Completed', TrainingJobStatusCounters: { Completed: 4 } });
  });
});

describe('inside the SageMaker service', () => {
  let h: Harness;

  beforeEach(() => {
    h = createHarness();
  });

  afterEach(async () => {
    await h.cleanup();
  });

  it('launches real training jobs whose ends reach the tuning job, and tags the tuning job like any resource', async () => {
    // An image with no local command: each training job fails before any process starts.
    const input = request('wired', { ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 1 } });
    (input.TrainingJobDefinition as { AlgorithmSpecification: { TrainingImage: string } }).AlgorithmSpecification.TrainingImage = IMAGES.unknown;
    const { HyperParameterTuningJobArn: arn } = await h.call('CreateHyperParameterTuningJob', input);

    const job = await waitFor(() => h.call('DescribeHyperParameterTuningJob', { HyperParameterTuningJobName: 'wired' }), (j) => j.HyperParameterTuningJobStatus !== 'InProgress');
    const listed = (await h.call('ListTrainingJobsForHyperParameterTuningJob', { HyperParameterTuningJobName: 'wired' })).TrainingJobSummaries as { TrainingJobName: string }[];
    const trial = await h.call('DescribeTrainingJob', { TrainingJobName: listed[0]!.TrainingJobName });
    await h.call('AddTags', { ResourceArn: arn, Tags: [{ Key: 'team', Value: 'ml' }] });

    expect(job).toMatchObject({ HyperParameterTuningJobStatus: 'Failed', FailureReason: 'No training job succeeded after 2 attempts. Please take a look at the training job failures to get more details.' });
    expect(trial).toMatchObject({ TuningJobArn: arn, TrainingJobStatus: 'Failed', FailureReason: expect.stringContaining('has no local command'), HyperParameters: { epochs: '3', x: expect.any(String), depth: expect.any(String) } });
    expect((await h.call('ListTags', { ResourceArn: arn })).Tags).toEqual([{ Key: 'sluice:repository', Value: 'abalone' }, { Key: 'team', Value: 'ml' }]);
    expect(h.events.filter((e) => e.DetailType === 'SageMaker Training Job State Change').map((e) => (e.Detail as { TrainingJobStatus: string }).TrainingJobStatus)).toEqual(['InProgress', 'Failed', 'InProgress', 'Failed']);
  });
});
