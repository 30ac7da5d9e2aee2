/**
 * readWiring's roles: every AWS::IAM::Role of the template with its inline policies resolved, keyed
 * by the ARN CloudFormation gives it — the ARN `Fn::GetAtt [Role, Arn]` hands a job's RoleArn.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html (role ARNs with paths)
 */
import { readWiring, type Template } from '../../../local/cloudformation/template';

const ENV = { region: 'us-east-1', accountId: '123456789012', stackName: 'sluice-local', endpoint: 'http://127.0.0.1:1' };

const ASSUME = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

function template(resources: Template['Resources'], conditions?: Template['Conditions']): Template {
  return { Resources: resources, Conditions: conditions };
}

describe('readWiring roles', () => {
  it('resolves Fn::Sub, Ref and Fn::Join in a policy Resource and keys the role by the ARN Fn::GetAtt gives', () => {
    const wiring = readWiring(
      template({
        Artifacts: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'sluice-local-artifacts' } },
        JobRole: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: ASSUME,
            Policies: [
              {
                PolicyName: 'jobs',
                PolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [
                    { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}/datasets/*', { Bucket: { Ref: 'Artifacts' } }] } },
                    { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::Join': ['', ['arn:aws:s3:::', { Ref: 'Artifacts' }]] } },
                  ],
                },
              },
            ],
          },
        },
        Reader: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'h', Code: { S3Key: 'k' }, Environment: { Variables: { ROLE: { 'Fn::GetAtt': ['JobRole', 'Arn'] } } } } },
      }),
      ENV,
    );

    expect(wiring.roles).toHaveLength(1);
    const [role] = wiring.roles;
    expect(role!.arn).toBe(wiring.functions[0]!.environment.ROLE);
    expect(role!.arn).toMatch(/^arn:aws:iam::123456789012:role\/sluice-local-JobRole-[0-9A-F]{12}$/);
    expect(role!.policies).toEqual([
      {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::sluice-local-artifacts/datasets/*' },
          { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::sluice-local-artifacts' },
        ],
      },
    ]);
    expect(role!.unresolved).toEqual([]);
  });

  it('puts RoleName and Path into the ARN (arn:aws:iam::<account>:role/<path>/<name>)', () => {
    const wiring = readWiring(
      template({
        RepoRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: ASSUME, RoleName: { 'Fn::Sub': '${AWS::StackName}-repo-a' }, Path: '/sluice/jobs/' } },
        Reader: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'h', Code: { S3Key: 'k' }, Environment: { Variables: { ROLE: { 'Fn::GetAtt': ['RepoRole', 'Arn'] } } } } },
      }),
      ENV,
    );

    expect(wiring.roles[0]).toEqual(expect.objectContaining({ name: 'sluice-local-repo-a', arn: 'arn:aws:iam::123456789012:role/sluice/jobs/sluice-local-repo-a', policies: [] }));
    expect(wiring.functions[0]!.environment.ROLE).toBe(wiring.roles[0]!.arn);
  });

  it('records ManagedPolicyArns without evaluating them, and skips roles whose Condition is false', () => {
    const wiring = readWiring(
      template(
        {
          Managed: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: ASSUME, ManagedPolicyArns: [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/AmazonS3ReadOnlyAccess' }] } },
          Absent: { Type: 'AWS::IAM::Role', Condition: 'Never', Properties: { AssumeRolePolicyDocument: ASSUME } },
        },
        { Never: { 'Fn::Equals': ['a', 'b'] } },
      ),
      ENV,
    );

    expect(wiring.roles.map((role) => role.logicalId)).toEqual(['Managed']);
    expect(wiring.roles[0]!.managedPolicyArns).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']);
  });

  it('leaves out a statement it cannot resolve and says which, instead of failing the boot', () => {
    const wiring = readWiring(
      template({
        Key: { Type: 'AWS::KMS::Key', Properties: {} },
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: ASSUME,
            Policies: [
              {
                PolicyName: 'mixed',
                PolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [
                    { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': ['Key', 'Arn'] } },
                    { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
                  ],
                },
              },
            ],
          },
        },
      }),
      ENV,
    );

    const [role] = wiring.roles;
    expect(role!.policies[0]!.Statement).toEqual([{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }]);
    expect(role!.unresolved).toEqual([expect.stringContaining('mixed statement 1')]);
  });
});
