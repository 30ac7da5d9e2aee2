import { executionRoleArn, groupNamespaceIssue, maySelfApprove, selfApprovalIssue, tenancyIssues } from '../../../shared/pipeline/tenancy';
import { shortHash } from '../../../shared/naming';

describe('groupNamespaceIssue', () => {
  it.each([['abalone', 'abalone'], ['abalone', 'abalone--fast'], ['abalone', 'Abalone--Fast'], ['fish_age', 'fish-age'], ['fish_age', 'fish-age--v2']])(
    'lets repository %s register into its own group %s',
    (repository, group) => {
      expect(groupNamespaceIssue('Steps.register.ModelPackageGroupName', repository, group)).toBeUndefined();
    },
  );

  it('refuses another repository\'s group, naming the field and the groups the repository may use', () => {
    expect(groupNamespaceIssue('Steps.register.ModelPackageGroupName', 'intruder', 'victim')).toBe(
      'Steps.register.ModelPackageGroupName: "victim" is not a group of repository intruder: a repository registers only into its own groups, "intruder" or "intruder--<name>"',
    );
  });

  it.each([
    // abalone may not take repository abalone-age's default group, nor one of its further groups.
    ['abalone', 'abalone-age'],
    ['abalone', 'abalone-age--fast'],
    // ... nor a group that only starts with the separator.
    ['abalone', 'abalone--'],
    ['abalone-age', 'abalone'],
  ])('keeps repository %s out of %s, a name only sharing its prefix', (repository, group) => {
    expect(groupNamespaceIssue('f', repository, group)).toMatch(/is not a group of repository/);
  });
});

describe('selfApprovalIssue', () => {
  it('lets a file register as PendingManualApproval anywhere', () => {
    expect(selfApprovalIssue('Register.ModelApprovalStatus', 'abalone', 'PendingManualApproval', false)).toBeUndefined();
  });

  it('refuses Approved where the stage does not allow self-approval, naming the stage setting', () => {
    expect(selfApprovalIssue('Register.ModelApprovalStatus', 'abalone', 'Approved', false)).toMatch(
      /^Register\.ModelApprovalStatus: "Approved" would deploy abalone's versions without review, .*\(stage setting selfApprovalRepositories\)/,
    );
  });

  it('allows Approved where the stage allows it', () => {
    expect(selfApprovalIssue('Register.ModelApprovalStatus', 'abalone', 'Approved', true)).toBeUndefined();
  });
});

describe('maySelfApprove', () => {
  it.each([
    [[], false],
    [['abalone'], true],
    [['aba*'], true],
    [['*'], true],
    [['abalone-age'], false],
  ])('with selfApprovalRepositories %j says %s for abalone', (selfApprovalRepositories, expected) => {
    expect(maySelfApprove('abalone', { selfApprovalRepositories })).toBe(expected);
  });
});

describe('tenancyIssues', () => {
  it('reports every registration\'s group and approval problems, in order', () => {
    const issues = tenancyIssues(
      [
        { field: 'Steps.a', group: 'victim', approval: 'Approved' },
        { field: 'Steps.b', group: undefined, approval: 'PendingManualApproval' },
        { field: 'Steps.c', group: 'intruder--ok', approval: 'PendingManualApproval' },
      ],
      'intruder',
      false,
    );

    expect(issues.map((issue) => issue.split(':')[0])).toEqual(['Steps.a.ModelPackageGroupName', 'Steps.a.ModelApprovalStatus']);
  });
});

describe('executionRoleArn', () => {
  const roles = { roleArn: 'arn:aws:iam::123456789012:role/sluice-dev-SageMakerExecutionRole', repositoryRoles: { arnPrefix: 'arn:aws:iam::123456789012:role/sluice-dev-job-', repositories: ['abalone', 'churn'] } };

  it('gives a repository the stage lists by name its own role, named after a hash of the repository', () => {
    expect(executionRoleArn('abalone', roles)).toBe(`arn:aws:iam::123456789012:role/sluice-dev-job-${shortHash(['abalone'], 10)}`);
  });

  it('gives two repositories two roles', () => {
    expect(executionRoleArn('abalone', roles)).not.toBe(executionRoleArn('churn', roles));
  });

  it('gives a repository only a wildcard matched the stage\'s shared role', () => {
    expect(executionRoleArn('team-fraud', roles)).toBe(roles.roleArn);
  });

  it('gives every repository the shared role when the stage created no repository roles', () => {
    expect(executionRoleArn('abalone', { roleArn: roles.roleArn })).toBe(roles.roleArn);
  });
});
