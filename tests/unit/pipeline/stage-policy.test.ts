import { imageIssue, instanceCountIssue, instanceTypeIssue, pipelinePolicyIssues, runtimeIssue, volumeSizeIssue } from '../../../shared/pipeline/stage-policy';
import type { ImagePolicy } from '../../../shared/schemas/mlops-config';
import { mlopsV2Schema } from '../../../shared/schemas/mlops-v2';
import { IMAGE, pipelineOf, processing, testPolicy, training } from '../../helpers/pipelines';

const ALLOWED = 'allowed: ml.m5.xlarge, ml.m5.large';

/** A Processing step on `instanceType`, stopping after `maxRuntime` (when given). */
function processingOn(instanceType: unknown, maxRuntime?: unknown): Record<string, unknown> {
  return processing({ ProcessingResources: { ClusterConfig: { InstanceType: instanceType } }, ...(maxRuntime === undefined ? {} : { StoppingCondition: { MaxRuntimeInSeconds: maxRuntime } }) });
}

describe('instanceTypeIssue', () => {
  it('allows an instance type on the stage\'s list', () => {
    expect(instanceTypeIssue('field', 'ml.m5.large', testPolicy())).toBeUndefined();
  });

  it('names the field, the type and the allowed ones for any other', () => {
    expect(instanceTypeIssue('Steps.train.ResourceConfig.InstanceType', 'ml.p4d.24xlarge', testPolicy())).toBe(
      `Steps.train.ResourceConfig.InstanceType: instance type "ml.p4d.24xlarge" is not allowed on this stage (${ALLOWED})`,
    );
  });
});

describe('runtimeIssue', () => {
  it.each([[undefined], [7200], [60]])('allows a runtime of %j s under a 7200 s maximum', (seconds) => {
    expect(runtimeIssue('field', seconds, testPolicy())).toBeUndefined();
  });

  it('names the field, the runtime and the maximum above it', () => {
    expect(runtimeIssue('Steps.train.StoppingCondition.MaxRuntimeInSeconds', 7201, testPolicy())).toBe("Steps.train.StoppingCondition.MaxRuntimeInSeconds: 7201 s exceeds this stage's maximum of 7200 s");
  });
});

describe('instanceCountIssue and volumeSizeIssue', () => {
  it('allow up to the stage\'s maximums (4 instances, 512 GB)', () => {
    expect([instanceCountIssue('f', 4, testPolicy()), volumeSizeIssue('f', 512, testPolicy())]).toEqual([undefined, undefined]);
  });

  it('name the field, the value and the maximum above them', () => {
    expect([instanceCountIssue('Steps.train.ResourceConfig.InstanceCount', 100, testPolicy()), volumeSizeIssue('Steps.train.ResourceConfig.VolumeSizeInGB', 16384, testPolicy())]).toEqual([
      "Steps.train.ResourceConfig.InstanceCount: 100 instances exceed this stage's maximum of 4 per job",
      "Steps.train.ResourceConfig.VolumeSizeInGB: 16384 GB exceeds this stage's maximum volume of 512 GB",
    ]);
  });
});

describe('pipelinePolicyIssues', () => {
  it('rejects literal instance counts and volume sizes above the stage\'s maximums', () => {
    const config = pipelineOf({
      prepare: processing({ ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: 100 } } }),
      train: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 16384 } }),
    });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      "Steps.prepare.ProcessingResources.ClusterConfig.InstanceCount: 100 instances exceed this stage's maximum of 4 per job",
      "Steps.train.ResourceConfig.VolumeSizeInGB: 16384 GB exceeds this stage's maximum volume of 512 GB",
    ]);
  });

  it('finds nothing wrong with allowed literals', () => {
    const config = pipelineOf({ prepare: processingOn('ml.m5.large', 3600), train: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: 'ml.m5.xlarge' } }) });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([]);
  });

  it('rejects a literal instance type of a Processing step', () => {
    const config = pipelineOf({ prepare: processingOn('ml.c5.large') });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([`Steps.prepare.ProcessingResources.ClusterConfig.InstanceType: instance type "ml.c5.large" is not allowed on this stage (${ALLOWED})`]);
  });

  it('rejects a literal instance type of a Training step', () => {
    const config = pipelineOf({ train: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: 'ml.p3.2xlarge' } }) });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([`Steps.train.ResourceConfig.InstanceType: instance type "ml.p3.2xlarge" is not allowed on this stage (${ALLOWED})`]);
  });

  it('rejects an instance type parameter whose default the stage does not allow', () => {
    const config = pipelineOf({ prepare: processingOn({ Get: 'Parameters.Instance' }) }, { Instance: { Type: 'String', Default: 'ml.g5.xlarge' } });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      `Steps.prepare.ProcessingResources.ClusterConfig.InstanceType: instance type "ml.g5.xlarge" is not allowed on this stage (${ALLOWED}) (a value of Parameters.Instance)`,
    ]);
  });

  it('rejects each of an instance type parameter\'s EnumValues that the stage does not allow', () => {
    const parameters = { Instance: { Type: 'String', Default: 'ml.m5.large', EnumValues: ['ml.m5.large', 'ml.p4d.24xlarge', 'ml.m5.xlarge', 'ml.g5.xlarge'] } };
    const config = pipelineOf({ train: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: { Get: 'Parameters.Instance' } } }) }, parameters);

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      `Steps.train.ResourceConfig.InstanceType: instance type "ml.p4d.24xlarge" is not allowed on this stage (${ALLOWED}) (a value of Parameters.Instance)`,
      `Steps.train.ResourceConfig.InstanceType: instance type "ml.g5.xlarge" is not allowed on this stage (${ALLOWED}) (a value of Parameters.Instance)`,
    ]);
  });

  it('reports a disallowed value once even when it is both the default and among the EnumValues', () => {
    const parameters = { Instance: { Type: 'String', Default: 'ml.g5.xlarge', EnumValues: ['ml.g5.xlarge', 'ml.m5.large'] } };
    const config = pipelineOf({ prepare: processingOn({ Get: 'Parameters.Instance' }) }, parameters);

    expect(pipelinePolicyIssues(config, testPolicy())).toHaveLength(1);
  });

  it('rejects a literal runtime above the stage maximum', () => {
    const config = pipelineOf({ prepare: processingOn('ml.m5.large', 86_400) });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual(["Steps.prepare.StoppingCondition.MaxRuntimeInSeconds: 86400 s exceeds this stage's maximum of 7200 s"]);
  });

  it('rejects a runtime parameter whose default is above the stage maximum', () => {
    const config = pipelineOf(
      { train: training({ d: { Dataset: 'x/' } }, { StoppingCondition: { MaxRuntimeInSeconds: { Get: 'Parameters.MaxRuntime' } } }) },
      { MaxRuntime: { Type: 'Integer', Default: 10_800 } },
    );

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      "Steps.train.StoppingCondition.MaxRuntimeInSeconds: 10800 s exceeds this stage's maximum of 7200 s (the default of Parameters.MaxRuntime)",
    ]);
  });

  it('leaves to the run what only the run can tell: step properties and report values', () => {
    const config = pipelineOf({
      prepare: processing({ Outputs: ['evaluation'], PropertyFiles: [{ PropertyFileName: 'Plan', OutputName: 'evaluation', FilePath: 'plan.json' }] }),
      train: training(
        { d: { Dataset: 'x/' } },
        {
          ResourceConfig: { InstanceType: { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.prepare.PropertyFiles.Plan' }, Path: 'instance' } } },
          StoppingCondition: { MaxRuntimeInSeconds: { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.prepare.PropertyFiles.Plan' }, Path: 'seconds' } } },
        },
      ),
    });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([]);
  });

  it('checks no instance type or runtime of the steps that run no job', () => {
    const config = pipelineOf({ stop: { Type: 'Fail', ErrorMessage: 'ml.p4d.24xlarge' } });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([]);
  });
});

/** The stack in 123456789012, pulling from 111122223333 too, with SageMaker's DLC and us-east-1 XGBoost accounts. */
const IMAGES: ImagePolicy = { accountId: '123456789012', imageAccountIds: ['111122223333'], awsImageAccountIds: ['763104351884', '683313688378'], localImages: false };
const FOREIGN = '999988887777.dkr.ecr.us-east-1.amazonaws.com/someone-else:latest';

// https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-algo-docker-registry-paths.html: SageMaker's prebuilt images are
// pulled with service-owned credentials; the stack's execution roles pull only from this account and imageAccountIds.
describe('imageIssue', () => {
  it.each([
    ['this account\'s ECR', IMAGE],
    ['an imageAccountIds account', '111122223333.dkr.ecr.eu-west-1.amazonaws.com/shared/base:1.0'],
    ['a Deep Learning Container (763104351884)', '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311'],
    ['SageMaker\'s XGBoost by digest', '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'],
    ['a China region\'s ECR (.amazonaws.com.cn)', '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/sluice-abalone:latest'],
  ])('allows %s', (_what, image) => {
    expect(imageIssue('Steps.t.AlgorithmSpecification.TrainingImage', image, IMAGES, [])).toBeUndefined();
  });

  it('refuses an ECR image of an account the stage does not pull from, naming the field and the account', () => {
    expect(imageIssue('Steps.t.AlgorithmSpecification.TrainingImage', FOREIGN, IMAGES, [])).toBe(
      `Steps.t.AlgorithmSpecification.TrainingImage: image "${FOREIGN}" is in account 999988887777's ECR, which this stage does not pull from (this account 123456789012, imageAccountIds: 111122223333, or SageMaker's image accounts in awsImageAccountIds)`,
    );
  });

  it('refuses an image outside ECR on AWS even when Local.Images names it (SageMaker runs only ECR images)', () => {
    expect(imageIssue('Steps.p.AppSpecification.ImageUri', 'sluice/noop:latest', IMAGES, ['sluice/noop:latest'])).toBe(
      'Steps.p.AppSpecification.ImageUri: image "sluice/noop:latest" is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), the only kind SageMaker runs',
    );
  });

  it('allows a key of Local.Images where the local runtime runs them, and nothing else outside ECR', () => {
    const local = { ...IMAGES, localImages: true };

    expect(imageIssue('Steps.p.AppSpecification.ImageUri', 'noop.local/noop:latest', local, ['noop.local/noop:latest'])).toBeUndefined();
    expect(imageIssue('Steps.p.AppSpecification.ImageUri', 'docker.io/library/python:3.12', local, ['noop.local/noop:latest'])).toMatch(/not an ECR image URI .*, nor a key of Local\.Images$/);
  });

  it('refuses an ECR image of a foreign account even when Local.Images names it', () => {
    expect(imageIssue('Steps.p.AppSpecification.ImageUri', FOREIGN, { ...IMAGES, localImages: true }, [FOREIGN])).toMatch(/account 999988887777's ECR/);
  });
});

describe('pipelinePolicyIssues: images', () => {
  const policy = () => ({ ...testPolicy(), images: IMAGES });

  it('names the field of every step image the stage cannot run: Processing, Training and RegisterModel', () => {
    const config = mlopsV2Schema.parse({
      Version: 2,
      Steps: {
        prepare: processing({ AppSpecification: { ImageUri: FOREIGN } }),
        train: training({ d: { Dataset: 'x/' } }, { AlgorithmSpecification: { TrainingImage: 'python:3.12' } }),
        register: { Type: 'RegisterModel', ModelData: { From: 'train/model' }, ModelPackageGroupName: 'abalone', InferenceSpecification: { Image: FOREIGN } },
      },
    });

    expect(pipelinePolicyIssues(config, policy()).map((issue) => issue.split(':')[0])).toEqual([
      'Steps.prepare.AppSpecification.ImageUri',
      'Steps.train.AlgorithmSpecification.TrainingImage',
      'Steps.register.InferenceSpecification.Image',
    ]);
  });

  it('checks every value an image parameter can take: its default and its EnumValues', () => {
    const config = pipelineOf(
      { prepare: processing({ AppSpecification: { ImageUri: { Get: 'Parameters.Image' } } }) },
      { Image: { Type: 'String', Default: IMAGE, EnumValues: [IMAGE, FOREIGN] } },
    );

    expect(pipelinePolicyIssues(config, policy())).toEqual([expect.stringMatching(/^Steps\.prepare\.AppSpecification\.ImageUri: image ".*999988887777.*" is in account 999988887777's ECR.*\(a value of Parameters\.Image\)$/)]);
  });

  it('checks no image when the caller gives no image policy', () => {
    expect(pipelinePolicyIssues(pipelineOf({ prepare: processing({ AppSpecification: { ImageUri: 'python:3.12' } }) }), testPolicy())).toEqual([]);
  });
});
