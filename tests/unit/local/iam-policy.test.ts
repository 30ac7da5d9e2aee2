/**
 * The local IAM identity-policy evaluator against AWS's documented evaluation logic. Each group
 * cites the IAM User Guide page it follows (https://docs.aws.amazon.com/IAM/latest/UserGuide/…).
 */
import { type AuthorizationRequest, evaluatePolicies, type PolicyDocument, type PolicyStatement } from '../../../local/iam/policy';

const SUPPORTED = ['s3:prefix', 's3:delimiter', 'aws:SecureTransport', 'aws:PrincipalArn', 'aws:username'];
const BUCKET = 'sluice-local-artifacts';

function policy(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: '2012-10-17', Statement: statements };
}

function request(action: string, resource: string, context: AuthorizationRequest['context'] = {}): AuthorizationRequest {
  return { action, resource, context };
}

function effect(policies: PolicyDocument | PolicyDocument[], req: AuthorizationRequest, onUnsupported?: (reason: string) => void): string {
  return evaluatePolicies(Array.isArray(policies) ? policies : [policies], req, { supportedKeys: SUPPORTED, onUnsupported }).effect;
}

const object = (key: string) => `arn:aws:s3:::${BUCKET}/${key}`;

describe('evaluation order (reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html)', () => {
  const readWrite = { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${BUCKET}/*` };

  it('implicitly denies a request no statement allows', () => {
    expect(effect(policy(readWrite), request('s3:DeleteObject', object('builds/a')))).toBe('ImplicitDeny');
  });

  it('allows a request an Allow statement covers', () => {
    expect(effect(policy(readWrite), request('s3:PutObject', object('builds/a')))).toBe('Allow');
  });

  it('lets an explicit Deny win over an Allow, in the same policy or another one', () => {
    const deny = { Effect: 'Deny', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/datasets/*` };
    expect(effect(policy(readWrite, deny), request('s3:PutObject', object('datasets/x.csv')))).toBe('ExplicitDeny');
    expect(effect([policy(deny), policy(readWrite)], request('s3:PutObject', object('datasets/x.csv')))).toBe('ExplicitDeny');
    expect(effect(policy(readWrite, deny), request('s3:GetObject', object('datasets/x.csv')))).toBe('Allow');
  });

  it('reports which statement decided', () => {
    const decision = evaluatePolicies([policy({ ...readWrite, Sid: 'ReadWrite' })], request('s3:GetObject', object('k')), { supportedKeys: [] });
    expect(decision).toEqual({ effect: 'Allow', statement: expect.objectContaining({ Sid: 'ReadWrite' }) });
  });

  it('accepts a single statement object instead of a list', () => {
    expect(effect({ Version: '2012-10-17', Statement: readWrite }, request('s3:GetObject', object('k')))).toBe('Allow');
  });
});

describe('Action and NotAction (reference_policies_elements_action.html, _notaction.html)', () => {
  it('matches action names case-insensitively and with * and ? wildcards', () => {
    const p = policy({ Effect: 'Allow', Action: ['S3:get*', 's3:?utObject'], Resource: '*' });
    expect(effect(p, request('s3:GetObjectTagging', object('k')))).toBe('Allow');
    expect(effect(p, request('s3:PutObject', object('k')))).toBe('Allow');
    expect(effect(p, request('s3:DeleteObject', object('k')))).toBe('ImplicitDeny');
    expect(effect(p, request('sqs:GetQueueUrl', 'arn:aws:sqs:us-east-1:123456789012:q'))).toBe('ImplicitDeny');
  });

  it('with Allow, allows every action except the listed ones', () => {
    const p = policy({ Effect: 'Allow', NotAction: 's3:DeleteObject', Resource: '*' });
    expect(effect(p, request('s3:PutObject', object('k')))).toBe('Allow');
    expect(effect(p, request('s3:DeleteObject', object('k')))).toBe('ImplicitDeny');
  });

  it('with Deny, denies every action except the listed ones', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:*', Resource: '*' }, { Effect: 'Deny', NotAction: 's3:GetObject', Resource: object('datasets/*') });
    expect(effect(p, request('s3:GetObject', object('datasets/a')))).toBe('Allow');
    expect(effect(p, request('s3:PutObject', object('datasets/a')))).toBe('ExplicitDeny');
    expect(effect(p, request('s3:PutObject', object('builds/a')))).toBe('Allow');
  });
});

describe('Resource and NotResource (reference_policies_elements_resource.html, _notresource.html)', () => {
  const buildsOfA = policy({ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: object('builds/repo-a/*') });

  it('matches * across slashes, so a prefix grant covers every key below it and nothing beside it', () => {
    expect(effect(buildsOfA, request('s3:PutObject', object('builds/repo-a/run-1/model.tar.gz')))).toBe('Allow');
    expect(effect(buildsOfA, request('s3:PutObject', object('builds/repo-b/run-1/model.tar.gz')))).toBe('ImplicitDeny');
    expect(effect(buildsOfA, request('s3:PutObject', object('builds/repo-ab/x')))).toBe('ImplicitDeny');
    expect(effect(buildsOfA, request('s3:PutObject', object('datasets/repo-a/x')))).toBe('ImplicitDeny');
  });

  it('matches ? as exactly one character', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: object('part-?.csv') });
    expect(effect(p, request('s3:GetObject', object('part-1.csv')))).toBe('Allow');
    expect(effect(p, request('s3:GetObject', object('part-10.csv')))).toBe('ImplicitDeny');
  });

  it('compares resource ARNs case-sensitively', () => {
    expect(effect(buildsOfA, request('s3:GetObject', object('Builds/repo-a/x')))).toBe('ImplicitDeny');
  });

  it('treats regex characters in a resource literally', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: object('a.b+(c)/*') });
    expect(effect(p, request('s3:GetObject', object('a.b+(c)/x')))).toBe('Allow');
    expect(effect(p, request('s3:GetObject', object('aXb+(c)/x')))).toBe('ImplicitDeny');
  });

  it('with Allow NotResource, allows everything except the listed resources', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:PutObject', NotResource: object('datasets/*') });
    expect(effect(p, request('s3:PutObject', object('builds/x')))).toBe('Allow');
    expect(effect(p, request('s3:PutObject', object('datasets/x')))).toBe('ImplicitDeny');
  });

  it('matches a bucket ARN only with a bucket-level pattern (ListBucket needs arn:aws:s3:::bucket, not bucket/*)', () => {
    expect(effect(buildsOfA, request('s3:ListBucket', `arn:aws:s3:::${BUCKET}`))).toBe('ImplicitDeny');
    const list = policy({ Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}` });
    expect(effect(list, request('s3:ListBucket', `arn:aws:s3:::${BUCKET}`))).toBe('Allow');
  });

  it('matches an action without a resource type (Resource *) only with Resource "*"', () => {
    expect(effect(policy({ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: 'arn:aws:s3:::*' }), request('s3:ListAllMyBuckets', '*'))).toBe('ImplicitDeny');
    expect(effect(policy({ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }), request('s3:ListAllMyBuckets', '*'))).toBe('Allow');
  });
});

describe('string conditions (reference_policies_elements_condition_operators.html)', () => {
  // The S3 home-directory listing example: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_s3_home-directory-console.html
  const listing = policy(
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}`, Condition: { StringEquals: { 's3:prefix': ['', 'builds/'], 's3:delimiter': '/' } } },
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}`, Condition: { StringLike: { 's3:prefix': 'builds/repo-a/*' } } },
  );
  const list = (context: AuthorizationRequest['context']) => request('s3:ListBucket', `arn:aws:s3:::${BUCKET}`, context);

  it('ORs the values of one key and ANDs the keys of one operator', () => {
    expect(effect(listing, list({ 's3:prefix': '', 's3:delimiter': '/' }))).toBe('Allow');
    expect(effect(listing, list({ 's3:prefix': 'builds/', 's3:delimiter': '/' }))).toBe('Allow');
    expect(effect(listing, list({ 's3:prefix': 'builds/' }))).toBe('ImplicitDeny');
  });

  it('restricts ListBucket to a prefix with StringLike on s3:prefix', () => {
    expect(effect(listing, list({ 's3:prefix': 'builds/repo-a/run-1/' }))).toBe('Allow');
    expect(effect(listing, list({ 's3:prefix': 'builds/repo-b/run-1/' }))).toBe('ImplicitDeny');
    expect(effect(listing, list({ 's3:prefix': 'datasets/' }))).toBe('ImplicitDeny');
  });

  it('makes a positive condition on a key absent from the request false', () => {
    expect(effect(listing, list({}))).toBe('ImplicitDeny');
  });

  it('makes a negated condition on an absent key true', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*', Condition: { StringNotLike: { 's3:prefix': 'datasets/*' } } });
    expect(effect(p, list({}))).toBe('Allow');
    expect(effect(p, list({ 's3:prefix': 'builds/' }))).toBe('Allow');
    expect(effect(p, list({ 's3:prefix': 'datasets/x/' }))).toBe('ImplicitDeny');
  });

  it('denies with StringNotEquals only when the value matches none of the listed ones', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:*', Resource: '*' }, { Effect: 'Deny', Action: 's3:ListBucket', Resource: '*', Condition: { StringNotEquals: { 's3:prefix': ['a/', 'b/'] } } });
    expect(effect(p, list({ 's3:prefix': 'a/' }))).toBe('Allow');
    expect(effect(p, list({ 's3:prefix': 'b/' }))).toBe('Allow');
    expect(effect(p, list({ 's3:prefix': 'c/' }))).toBe('ExplicitDeny');
  });

  it('compares StringEquals and StringLike case-sensitively', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*', Condition: { StringLike: { 's3:prefix': 'Builds/*' } } });
    expect(effect(p, list({ 's3:prefix': 'builds/x' }))).toBe('ImplicitDeny');
  });

  it('treats condition key names case-insensitively', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*', Condition: { StringEquals: { 'S3:Prefix': 'x/' } } });
    expect(effect(p, list({ 's3:prefix': 'x/' }))).toBe('Allow');
  });

  it('passes …IfExists when the key is absent and checks it when present', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: { StringLikeIfExists: { 's3:prefix': 'builds/*' } } });
    expect(effect(p, request('s3:GetObject', object('k')))).toBe('Allow');
    expect(effect(p, list({ 's3:prefix': 'builds/x' }))).toBe('Allow');
    expect(effect(p, list({ 's3:prefix': 'datasets/x' }))).toBe('ImplicitDeny');
  });
});

describe('Bool and Null (reference_policies_elements_condition_operators.html)', () => {
  it('denies insecure transport with Bool aws:SecureTransport false (values may be JSON booleans)', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:*', Resource: '*' }, { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': false } } });
    expect(effect(p, request('s3:GetObject', object('k'), { 'aws:SecureTransport': 'true' }))).toBe('Allow');
    expect(effect(p, request('s3:GetObject', object('k'), { 'aws:SecureTransport': 'false' }))).toBe('ExplicitDeny');
    expect(effect(p, request('s3:GetObject', object('k')))).toBe('Allow');
  });

  it('tests presence with Null: "true" holds when the key is absent, "false" when present', () => {
    const absent = policy({ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*', Condition: { Null: { 's3:prefix': 'true' } } });
    const present = policy({ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*', Condition: { Null: { 's3:prefix': 'false' } } });
    const bare = request('s3:ListBucket', `arn:aws:s3:::${BUCKET}`);
    const prefixed = request('s3:ListBucket', `arn:aws:s3:::${BUCKET}`, { 's3:prefix': 'x/' });
    expect([effect(absent, bare), effect(absent, prefixed)]).toEqual(['Allow', 'ImplicitDeny']);
    expect([effect(present, bare), effect(present, prefixed)]).toEqual(['ImplicitDeny', 'Allow']);
  });
});

describe('set operators on multivalued keys (reference_policies_condition-single-vs-multi-valued-context-keys.html)', () => {
  const tags = (values?: string[]) => request('s3:GetObject', object('k'), values ? { 's3:prefix': values } : {});

  it('ForAnyValue holds when at least one value matches, and not for an absent key', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: { 'ForAnyValue:StringEquals': { 's3:prefix': ['a', 'b'] } } });
    expect(effect(p, tags(['x', 'b']))).toBe('Allow');
    expect(effect(p, tags(['x', 'y']))).toBe('ImplicitDeny');
    expect(effect(p, tags())).toBe('ImplicitDeny');
  });

  it('ForAllValues holds when every value matches, and for an absent key', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: { 'ForAllValues:StringLike': { 's3:prefix': ['a*', 'b'] } } });
    expect(effect(p, tags(['ab', 'b']))).toBe('Allow');
    expect(effect(p, tags(['ab', 'c']))).toBe('ImplicitDeny');
    expect(effect(p, tags())).toBe('Allow');
  });
});

describe('policy variables (reference_policies_variables.html)', () => {
  it('substitutes a request value into a Resource, in policy version 2012-10-17 only', () => {
    const statement = { Effect: 'Allow', Action: 's3:PutObject', Resource: object('home/${aws:username}/*') };
    const req = request('s3:PutObject', object('home/ana/notes.txt'), { 'aws:username': 'ana' });
    expect(effect(policy(statement), req)).toBe('Allow');
    expect(effect(policy(statement), { ...req, context: { 'aws:username': 'bo' } })).toBe('ImplicitDeny');
    expect(effect({ Version: '2008-10-17', Statement: statement }, req)).toBe('ImplicitDeny');
  });

  it('matches nothing when the variable key is absent, unless a default is given', () => {
    expect(effect(policy({ Effect: 'Allow', Action: 's3:PutObject', Resource: object('home/${aws:username}/*') }), request('s3:PutObject', object('home//x')))).toBe('ImplicitDeny');
    expect(effect(policy({ Effect: 'Allow', Action: 's3:PutObject', Resource: object("home/${aws:username, 'shared'}/*") }), request('s3:PutObject', object('home/shared/x')))).toBe('Allow');
  });

  it('writes literal * ? $ as ${*} ${?} ${$}', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: object('odd${*}name${?}') });
    expect(effect(p, request('s3:GetObject', object('odd*name?')))).toBe('Allow');
    expect(effect(p, request('s3:GetObject', object('oddXnameY')))).toBe('ImplicitDeny');
  });
});

describe('what the local evaluator does not support', () => {
  it('skips a statement with an unsupported operator, says why, and still applies the others', () => {
    const reasons: string[] = [];
    const p = policy(
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Sid: 'ByIp', Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { IpAddress: { 'aws:SecureTransport': '10.0.0.0/8' } } },
    );
    expect(effect(p, request('s3:GetObject', object('k')), (reason) => reasons.push(reason))).toBe('Allow');
    expect(reasons).toEqual([expect.stringContaining('ByIp')]);
    expect(reasons[0]).toContain('IpAddress');
  });

  it('skips a statement on a condition key the runtime never supplies (an Allow then grants nothing)', () => {
    const reasons: string[] = [];
    const p = policy({ Sid: 'FromVpc', Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } } });
    expect(effect(p, request('s3:GetObject', object('k')), (reason) => reasons.push(reason))).toBe('ImplicitDeny');
    expect(reasons).toEqual([expect.stringContaining('aws:SourceVpc')]);
  });

  it('skips a statement whose Resource uses a policy variable the runtime never supplies', () => {
    const reasons: string[] = [];
    const p = policy({ Effect: 'Allow', Action: 's3:*', Resource: object('${aws:PrincipalTag/team}/*') });
    expect(effect(p, request('s3:GetObject', object('a/k')), (reason) => reasons.push(reason))).toBe('ImplicitDeny');
    expect(reasons).toEqual([expect.stringContaining('aws:PrincipalTag/team')]);
  });
});
