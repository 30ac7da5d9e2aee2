/**
 * Serverless variable resolvers: derive the EventBridge trigger pattern and the matching IAM
 * resources from one stage setting, so the rule and the permissions can never disagree.
 * Used from serverless.yml as ${file(./events/stage-params.js):<name>}.
 *
 * `repositories` and `branches` are lists of names; `*` is a wildcard (EventBridge's
 * `wildcard` operator in the rule, the same `*` in IAM ARNs).
 */
const toMatchers = (values) => values.map((value) => (String(value).includes('*') ? { wildcard: String(value) } : String(value)));

const list = async (resolveVariable, name) => {
  const value = await resolveVariable(`param:${name}`);
  const values = Array.isArray(value) ? value : String(value).split(',');
  const cleaned = values.map((v) => String(v).trim()).filter((v) => v !== '');
  if (cleaned.length === 0) throw new Error(`stage parameter ${name} must list at least one value`);
  return cleaned;
};

module.exports = {
  repositoryMatchers: async ({ resolveVariable }) => toMatchers(await list(resolveVariable, 'repositories')),
  branchMatchers: async ({ resolveVariable }) => toMatchers(await list(resolveVariable, 'branches')),
  repositoryList: async ({ resolveVariable }) => (await list(resolveVariable, 'repositories')).join(','),
  branchList: async ({ resolveVariable }) => (await list(resolveVariable, 'branches')).join(','),
  instanceTypeList: async ({ resolveVariable }) => (await list(resolveVariable, 'allowedInstanceTypes')).join(','),
  instanceTypes: async ({ resolveVariable }) => list(resolveVariable, 'allowedInstanceTypes'),
  /** May be empty (''): no repository approves its own versions. */
  selfApprovalList: async ({ resolveVariable }) => {
    const value = await resolveVariable('param:selfApprovalRepositories');
    return (Array.isArray(value) ? value : String(value ?? '').split(',')).map((v) => String(v).trim()).filter((v) => v !== '').join(',');
  },
  endpointInstanceTypeList: async ({ resolveVariable }) => (await list(resolveVariable, 'allowedEndpointInstanceTypes')).join(','),
  endpointInstanceTypes: async ({ resolveVariable }) => list(resolveVariable, 'allowedEndpointInstanceTypes'),
  repositoryArns: async ({ resolveVariable }) =>
    (await list(resolveVariable, 'repositories')).map((name) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:codecommit:\${AWS::Region}:\${AWS::AccountId}:${name}`,
    })),
  /** The artifacts bucket: the stage's, or the one this stack creates when the parameter is empty. */
  artifactsBucket: async ({ resolveVariable }) => (await resolveVariable('param:artifactsBucket')) || { Ref: 'ArtifactsBucket' },
  /** The SageMaker execution role: the stage's, or the one this stack creates when the parameter is empty. */
  sagemakerRoleArn: async ({ resolveVariable }) => (await resolveVariable('param:sagemakerRoleArn')) || { 'Fn::GetAtt': ['SageMakerExecutionRole', 'Arn'] },
};
