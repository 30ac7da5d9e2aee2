import { parseDocument } from 'yaml';

import { InvalidConfigError } from '../../../shared/errors';
import { readDeployConfig } from '../../../shared/schemas/deploy';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { EXAMPLE_CONFIG_TEXT, TEST_POLICY } from '../../helpers/fixtures';

const ENDPOINT_POLICY = { allowedEndpointInstanceTypes: ['ml.t2.medium', 'ml.m5.large'], maxEndpointInstanceCount: 4 };

function exampleWith(path: (string | number)[], value: unknown): string {
  const document = parseDocument(EXAMPLE_CONFIG_TEXT);
  if (value === undefined) document.deleteIn(path);
  else document.setIn(path, value);
  return document.toString();
}

/** A build's pipeline.json as a deploy reads it: the example's document with one edit (Deploy left as written, unchecked). */
function pipelineWith(path: (string | number)[], value: unknown): unknown {
  const document = parseDocument(path.length === 0 ? EXAMPLE_CONFIG_TEXT : exampleWith(path, value)).toJS() as Record<string, unknown>;
  const built = parseMlopsConfig(exampleWith(['Deploy'], undefined), { allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes], maxRuntimeSeconds: TEST_POLICY.maxRuntimeSeconds, maxInstanceCount: 4, maxVolumeSizeInGB: 512, selfApprovalRepositories: [] }, 'abalone');
  return JSON.parse(JSON.stringify({ ...built, ...(document.Deploy === undefined ? {} : { Deploy: document.Deploy }) })) as unknown;
}

const example = () => pipelineWith([], undefined);

describe('readDeployConfig (the Deploy section of a build\'s pipeline.json)', () => {
  it('reads the example\'s Deploy section with staging x1 and prod x2 CANARY', () => {
    const deploy = readDeployConfig(example(), ENDPOINT_POLICY);

    expect(deploy.Staging).toEqual({ InstanceType: 'ml.m5.large', InitialInstanceCount: 1 });
    expect(deploy.Prod).toEqual({ InstanceType: 'ml.m5.large', InitialInstanceCount: 2, Strategy: 'CANARY' });
  });

  it('sends three raw abalone records, features only, as the smoke test', () => {
    const { SmokeTest } = readDeployConfig(example(), ENDPOINT_POLICY);
    const rows = SmokeTest.Body.trim().split('\n');

    expect(rows).toHaveLength(3);
    expect(rows[0]).toBe('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15');
    for (const row of rows) expect(row.split(',')).toHaveLength(8);
    expect(SmokeTest).toMatchObject({ ContentType: 'text/csv', ExpectedLines: 3, NumericResponse: true });
  });

  it('fails with InvalidConfig when the Deploy section is missing', () => {
    expect(() => readDeployConfig(pipelineWith(['Deploy'], undefined), ENDPOINT_POLICY)).toThrow(new InvalidConfigError('mlops.yaml: Deploy: is required to deploy this model'));
  });

  it('names an endpoint instance type the stage does not allow', () => {
    const pipeline = pipelineWith(['Deploy', 'Prod', 'InstanceType'], 'ml.p4d.24xlarge');

    expect(() => readDeployConfig(pipeline, ENDPOINT_POLICY)).toThrow(/Deploy\.Prod\.InstanceType: instance type "ml\.p4d\.24xlarge" is not allowed for endpoints on this stage \(allowed: ml\.t2\.medium, ml\.m5\.large\)/);
  });

  it('names a staging instance count above the stage\'s maximum, checked again at deploy time', () => {
    const pipeline = pipelineWith(['Deploy', 'Staging', 'InitialInstanceCount'], 5);

    expect(() => readDeployConfig(pipeline, ENDPOINT_POLICY)).toThrow(/Deploy\.Staging\.InitialInstanceCount: 5 instances exceed this stage's maximum of 4 per endpoint/);
  });

  it('names an unknown strategy with its path', () => {
    expect(() => readDeployConfig(pipelineWith(['Deploy', 'Prod', 'Strategy'], 'SHADOW'), ENDPOINT_POLICY)).toThrow(/mlops\.yaml: Deploy\.Prod\.Strategy: /);
  });

  it('refuses a data capture destination: the stage decides buckets', () => {
    const pipeline = pipelineWith(['Deploy', 'DataCapture'], { SamplingPercentage: 10, Bucket: 'elsewhere' });

    expect(() => readDeployConfig(pipeline, ENDPOINT_POLICY)).toThrow(/Deploy\.DataCapture\.Bucket: not allowed here/);
  });
});

describe('parseMlopsConfig with a Deploy section', () => {
  const policy = { allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes], maxRuntimeSeconds: TEST_POLICY.maxRuntimeSeconds, maxInstanceCount: 4, maxVolumeSizeInGB: 512, selfApprovalRepositories: [] };

  it('accepts a file without Deploy (a model that is only built)', () => {
    expect(parseMlopsConfig(exampleWith(['Deploy'], undefined), policy, 'abalone').Deploy).toBeUndefined();
  });

  it('checks Deploy instance types when the stage gives an endpoint allowlist', () => {
    const text = exampleWith(['Deploy', 'Staging', 'InstanceType'], 'ml.g5.48xlarge');

    expect(() => parseMlopsConfig(text, { ...policy, ...ENDPOINT_POLICY }, 'abalone')).toThrow(/Deploy\.Staging\.InstanceType: instance type "ml\.g5\.48xlarge" is not allowed/);
  });

  it('refuses at push more prod instances than the stage hosts per endpoint', () => {
    const text = exampleWith(['Deploy', 'Prod', 'InitialInstanceCount'], 40);

    expect(() => parseMlopsConfig(text, { ...policy, ...ENDPOINT_POLICY }, 'abalone')).toThrow(
      /mlops\.yaml: Deploy\.Prod\.InitialInstanceCount: 40 instances exceed this stage's maximum of 4 per endpoint/,
    );
  });

  it('leaves Deploy instance types to deploy time when the stage gives no endpoint allowlist', () => {
    const text = exampleWith(['Deploy', 'Staging', 'InstanceType'], 'ml.g5.48xlarge');

    expect(parseMlopsConfig(text, policy, 'abalone').Deploy?.Staging.InstanceType).toBe('ml.g5.48xlarge');
  });
});
