/**
 * S3 requests authorized as a role session: which IAM action each REST call needs
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html), and
 * RoleSessions deciding them with the role's policies from the template.
 */
import type { IncomingMessage } from 'node:http';

import type { RoleSpec } from '../../../local/cloudformation/template';
import { RoleSessions } from '../../../local/iam/sessions';
import { authorizeS3Request, requestAccessKeyId, s3Authorizations } from '../../../local/s3/authorization';

const BUCKET = 'sluice-local-artifacts';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/sluice/sluice-local-repo-a';

/** The shape of the stack's SageMakerExecutionRole, narrowed to one repository's builds. */
const ROLE: RoleSpec = {
  logicalId: 'RepoARole',
  name: 'sluice-local-repo-a',
  arn: ROLE_ARN,
  managedPolicyArns: [],
  unresolved: [],
  policies: [
    {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${BUCKET}/builds/repo-a/*` },
        { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/datasets/*` },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}`, Condition: { StringLike: { 's3:prefix': ['builds/repo-a/*', 'datasets/*'] } } },
      ],
    },
  ],
};

function signed(method: string, url: string, accessKeyId: string, headers: Record<string, string> = {}): IncomingMessage {
  return {
    method,
    url,
    headers: { authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00`, ...headers },
  } as unknown as IncomingMessage;
}

describe('s3Authorizations', () => {
  it.each([
    ['GET', `/${BUCKET}/builds/a/model.tar.gz`, 's3:GetObject'],
    ['HEAD', `/${BUCKET}/builds/a/model.tar.gz`, 's3:GetObject'],
    ['PUT', `/${BUCKET}/builds/a/model.tar.gz`, 's3:PutObject'],
    ['POST', `/${BUCKET}/builds/a/big?uploads`, 's3:PutObject'],
    ['PUT', `/${BUCKET}/builds/a/big?partNumber=1&uploadId=u`, 's3:PutObject'],
    ['POST', `/${BUCKET}/builds/a/big?uploadId=u`, 's3:PutObject'],
    ['DELETE', `/${BUCKET}/builds/a/big?uploadId=u`, 's3:AbortMultipartUpload'],
    ['DELETE', `/${BUCKET}/builds/a/model.tar.gz`, 's3:DeleteObject'],
    ['GET', `/${BUCKET}/builds/a/k?tagging`, 's3:GetObjectTagging'],
    ['GET', `/${BUCKET}/builds/a/k?versionId=3`, 's3:GetObjectVersion'],
    ['GET', `/${BUCKET}?location`, 's3:GetBucketLocation'],
    ['HEAD', `/${BUCKET}`, 's3:ListBucket'],
    ['PUT', `/${BUCKET}`, 's3:CreateBucket'],
    ['GET', '/', 's3:ListAllMyBuckets'],
  ])('%s %s needs %s', (method, url, action) => {
    expect(s3Authorizations(method, url, {})?.map((a) => a.action)).toEqual([action]);
  });

  it('names the object by its decoded key, and the bucket alone for bucket operations', () => {
    expect(s3Authorizations('PUT', `/${BUCKET}/datasets/a%20b/x.csv`, {})![0]!.resource).toBe(`arn:aws:s3:::${BUCKET}/datasets/a b/x.csv`);
    expect(s3Authorizations('GET', `/${BUCKET}?list-type=2`, {})![0]!.resource).toBe(`arn:aws:s3:::${BUCKET}`);
  });

  it('gives ListObjectsV2 s3:prefix, s3:delimiter and s3:max-keys from its query, and no s3:prefix when the query has none', () => {
    expect(s3Authorizations('GET', `/${BUCKET}?list-type=2&prefix=builds%2Frepo-a%2F&delimiter=%2F&max-keys=10`, {})![0]!.context).toEqual({
      'aws:SecureTransport': 'true',
      's3:prefix': 'builds/repo-a/',
      's3:delimiter': '/',
      's3:max-keys': '10',
    });
    expect(s3Authorizations('GET', `/${BUCKET}?list-type=2`, {})![0]!.context).not.toHaveProperty('s3:prefix');
  });

  it('makes CopyObject write its target and read its source', () => {
    expect(s3Authorizations('PUT', `/${BUCKET}/builds/b/copy`, { 'x-amz-copy-source': `/${BUCKET}/builds/a/orig%20file` })!.map((a) => [a.action, a.resource])).toEqual([
      ['s3:PutObject', `arn:aws:s3:::${BUCKET}/builds/b/copy`],
      ['s3:GetObject', `arn:aws:s3:::${BUCKET}/builds/a/orig file`],
    ]);
  });

  it('does not guess DeleteObjects (its keys are in the body)', () => {
    expect(s3Authorizations('POST', `/${BUCKET}?delete`, {})).toBeUndefined();
  });
});

describe('requestAccessKeyId', () => {
  it('reads the key from the Authorization header or a presigned URL', () => {
    expect(requestAccessKeyId(signed('GET', '/b/k', 'ASIAEXAMPLE'))).toBe('ASIAEXAMPLE');
    expect(requestAccessKeyId({ method: 'GET', url: '/b/k?X-Amz-Credential=ASIAPRESIGN%2F20260101%2Fus-east-1%2Fs3%2Faws4_request', headers: {} } as unknown as IncomingMessage)).toBe('ASIAPRESIGN');
    expect(requestAccessKeyId({ method: 'GET', url: '/b/k', headers: {} } as unknown as IncomingMessage)).toBeUndefined();
  });
});

describe('authorizeS3Request with RoleSessions', () => {
  let logs: string[];
  let sessions: RoleSessions;
  beforeEach(() => {
    logs = [];
    sessions = new RoleSessions([ROLE], { accountId: '123456789012', region: 'us-east-1', log: (line) => logs.push(line) });
  });

  it("allows a role session its own repository's prefix and datasets/ reads", () => {
    const { accessKeyId } = sessions.start(ROLE_ARN, 'SageMaker');
    expect(authorizeS3Request(signed('PUT', `/${BUCKET}/builds/repo-a/run/model.tar.gz`, accessKeyId), sessions)).toEqual({ allowed: true });
    expect(authorizeS3Request(signed('GET', `/${BUCKET}/datasets/abalone/abalone.csv`, accessKeyId), sessions)).toEqual({ allowed: true });
    expect(authorizeS3Request(signed('GET', `/${BUCKET}?list-type=2&prefix=builds%2Frepo-a%2Frun%2F`, accessKeyId), sessions)).toEqual({ allowed: true });
  });

  it("denies another repository's prefix and datasets/ writes with S3's message naming the assumed role", () => {
    const { accessKeyId } = sessions.start(ROLE_ARN, 'SageMaker');
    expect(authorizeS3Request(signed('PUT', `/${BUCKET}/builds/repo-b/run/model.tar.gz`, accessKeyId), sessions)).toEqual({
      allowed: false,
      message: `User: arn:aws:sts::123456789012:assumed-role/sluice-local-repo-a/SageMaker is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${BUCKET}/builds/repo-b/run/model.tar.gz" because no identity-based policy allows the s3:PutObject action`,
    });
    expect(authorizeS3Request(signed('PUT', `/${BUCKET}/datasets/abalone/x.csv`, accessKeyId), sessions).allowed).toBe(false);
    expect(authorizeS3Request(signed('GET', `/${BUCKET}?list-type=2&prefix=builds%2Frepo-b%2F`, accessKeyId), sessions).allowed).toBe(false);
    expect(authorizeS3Request(signed('POST', `/${BUCKET}?delete`, accessKeyId), sessions).allowed).toBe(false);
  });

  it('gives any other key full access (the user, the functions), and an ended session too', () => {
    expect(authorizeS3Request(signed('PUT', `/${BUCKET}/datasets/x`, 'local'), sessions)).toEqual({ allowed: true });
    const { accessKeyId } = sessions.start(ROLE_ARN, 'SageMaker');
    sessions.end(accessKeyId);
    expect(authorizeS3Request(signed('PUT', `/${BUCKET}/datasets/x`, accessKeyId), sessions)).toEqual({ allowed: true });
  });

  it('does not enforce a role the template does not define, and says so once', () => {
    const { accessKeyId } = sessions.start('arn:aws:iam::123456789012:role/made-up', 'SageMaker');
    expect(authorizeS3Request(signed('PUT', `/${BUCKET}/anywhere`, accessKeyId), sessions)).toEqual({ allowed: true });
    expect(authorizeS3Request(signed('PUT', `/${BUCKET}/anywhere-else`, accessKeyId), sessions)).toEqual({ allowed: true });
    expect(logs.filter((line) => line.includes('role/made-up'))).toHaveLength(1);
  });

  it('mints distinct temporary keys per session', () => {
    const a = sessions.start(ROLE_ARN, 'SageMaker');
    const b = sessions.start(ROLE_ARN, 'SageMaker');
    expect(a.accessKeyId).toMatch(/^ASIA[0-9A-F]{16}$/);
    expect(a.accessKeyId).not.toBe(b.accessKeyId);
    expect(a.sessionToken).not.toBe('');
  });
});
