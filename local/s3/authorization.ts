import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

import type { AuthorizationRequest } from '../iam/policy';
import type { Authorization, RequestAuthorizer } from '../iam/sessions';

/**
 * Which IAM actions an S3 REST request needs, on which resources, with which condition keys — the
 * table in https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
 * for the operations SDKs and the AWS CLI send (path-style addressing, as the runtime serves S3).
 * Object operations act on `arn:aws:s3:::<bucket>/<key>`, bucket operations on
 * `arn:aws:s3:::<bucket>`; ListObjects(V2) is s3:ListBucket with the s3:prefix, s3:delimiter and
 * s3:max-keys keys its query carries.
 */

/** aws:SecureTransport: true. The runtime stands in for S3's HTTPS endpoints; its loopback HTTP hop is the emulator's, not the caller's choice. */
const TRANSPORT = { 'aws:SecureTransport': 'true' };

const BUCKET_READS: Record<string, string> = {
  location: 's3:GetBucketLocation',
  versions: 's3:ListBucketVersions',
  uploads: 's3:ListBucketMultipartUploads',
  acl: 's3:GetBucketAcl',
  policy: 's3:GetBucketPolicy',
  versioning: 's3:GetBucketVersioning',
  tagging: 's3:GetBucketTagging',
  cors: 's3:GetBucketCORS',
  lifecycle: 's3:GetLifecycleConfiguration',
  website: 's3:GetBucketWebsite',
};
const BUCKET_WRITES: Record<string, string> = {
  acl: 's3:PutBucketAcl',
  policy: 's3:PutBucketPolicy',
  versioning: 's3:PutBucketVersioning',
  tagging: 's3:PutBucketTagging',
  cors: 's3:PutBucketCORS',
  lifecycle: 's3:PutLifecycleConfiguration',
  website: 's3:PutBucketWebsite',
};
const BUCKET_DELETES: Record<string, string> = {
  policy: 's3:DeleteBucketPolicy',
  tagging: 's3:PutBucketTagging',
  cors: 's3:PutBucketCORS',
  lifecycle: 's3:PutLifecycleConfiguration',
  website: 's3:DeleteBucketWebsite',
};

/**
 * The authorizations one S3 request needs (all must pass), or undefined for a request this table
 * does not know (e.g. DeleteObjects, whose keys are in the body): the caller denies those for role
 * credentials rather than guess.
 */
export function s3Authorizations(method: string, url: string, headers: IncomingHttpHeaders): AuthorizationRequest[] | undefined {
  const parsed = new URL(url, 'http://s3.local');
  const query = parsed.searchParams;
  const [, bucket = '', ...keyParts] = parsed.pathname.split('/');
  const key = decodeURIComponent(keyParts.join('/'));
  const has = (name: string) => query.has(name);
  const one = (action: string, resource: string, context: Record<string, string> = {}): AuthorizationRequest[] => [{ action, resource, context: { ...TRANSPORT, ...context } }];
  const verb = method.toUpperCase();

  if (bucket === '') return verb === 'GET' ? one('s3:ListAllMyBuckets', '*') : undefined;
  const bucketArn = `arn:aws:s3:::${decodeURIComponent(bucket)}`;
  const sub = (table: Record<string, string>) => Object.keys(table).find(has);

  if (keyParts.length === 0 || key === '') {
    if (verb === 'HEAD') return one('s3:ListBucket', bucketArn);
    if (verb === 'GET') {
      const read = sub(BUCKET_READS);
      if (read) return one(BUCKET_READS[read]!, bucketArn);
      const context: Record<string, string> = {};
      for (const [param, conditionKey] of [['prefix', 's3:prefix'], ['delimiter', 's3:delimiter'], ['max-keys', 's3:max-keys']] as const) {
        const value = query.get(param);
        if (value !== null) context[conditionKey] = value;
      }
      return one('s3:ListBucket', bucketArn, context);
    }
    if (verb === 'PUT') {
      const write = sub(BUCKET_WRITES);
      return one(write ? BUCKET_WRITES[write]! : 's3:CreateBucket', bucketArn);
    }
    if (verb === 'DELETE') {
      const removal = sub(BUCKET_DELETES);
      return one(removal ? BUCKET_DELETES[removal]! : 's3:DeleteBucket', bucketArn);
    }
    return undefined;
  }

  const objectArn = `${bucketArn}/${key}`;
  const versioned = has('versionId');
  switch (verb) {
    case 'GET':
      if (has('acl')) return one(versioned ? 's3:GetObjectVersionAcl' : 's3:GetObjectAcl', objectArn);
      if (has('tagging')) return one(versioned ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging', objectArn);
      if (has('uploadId')) return one('s3:ListMultipartUploadParts', objectArn);
      return one(versioned ? 's3:GetObjectVersion' : 's3:GetObject', objectArn);
    case 'HEAD':
      return one(versioned ? 's3:GetObjectVersion' : 's3:GetObject', objectArn);
    case 'PUT': {
      if (has('acl')) return one(versioned ? 's3:PutObjectVersionAcl' : 's3:PutObjectAcl', objectArn);
      if (has('tagging')) return one(versioned ? 's3:PutObjectVersionTagging' : 's3:PutObjectTagging', objectArn);
      // PutObject, UploadPart; CopyObject and UploadPartCopy also read their source.
      const copies = copySource(headers['x-amz-copy-source']);
      return [...one('s3:PutObject', objectArn), ...(copies ? one(copies.versioned ? 's3:GetObjectVersion' : 's3:GetObject', copies.arn) : [])];
    }
    case 'POST':
      if (has('uploads') || has('uploadId')) return one('s3:PutObject', objectArn);
      if (has('restore')) return one('s3:RestoreObject', objectArn);
      if (has('select')) return one('s3:GetObject', objectArn);
      return undefined;
    case 'DELETE':
      if (has('uploadId')) return one('s3:AbortMultipartUpload', objectArn);
      if (has('tagging')) return one(versioned ? 's3:DeleteObjectVersionTagging' : 's3:DeleteObjectTagging', objectArn);
      return one(versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', objectArn);
    default:
      return undefined;
  }
}

/** `x-amz-copy-source: /bucket/key?versionId=…` (leading slash optional, URL-encoded) as an ARN. */
function copySource(header: string | string[] | undefined): { arn: string; versioned: boolean } | undefined {
  if (typeof header !== 'string' || header === '') return undefined;
  const [path = '', query = ''] = header.split('?');
  return { arn: `arn:aws:s3:::${decodeURIComponent(path.replace(/^\//, ''))}`, versioned: /(^|&)versionId=/.test(query) };
}

/** The SigV4 access key id of a request (Authorization header or presigned X-Amz-Credential); undefined when unsigned. */
export function requestAccessKeyId(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization;
  const fromHeader = typeof authorization === 'string' ? /Credential=([^/,\s]+)\//.exec(authorization)?.[1] : undefined;
  if (fromHeader) return fromHeader;
  const credential = new URL(request.url ?? '/', 'http://s3.local').searchParams.get('X-Amz-Credential');
  return credential ? credential.split('/')[0] : undefined;
}

/** Decides an S3 request: allowed, or denied with S3's message. */
export function authorizeS3Request(request: IncomingMessage, authorizer: RequestAuthorizer): Authorization {
  const accessKeyId = requestAccessKeyId(request);
  const needed = s3Authorizations(request.method ?? 'GET', request.url ?? '/', request.headers);
  if (needed) return authorizer.authorize(accessKeyId, needed);
  // Unknown to the table: a role whose policies are enforced may not do it; other keys may do anything.
  if (!authorizer.enforces(accessKeyId)) return { allowed: true };
  return { allowed: false, message: `the local runtime cannot tell which IAM action ${request.method} ${request.url?.split('?')[0]} needs, so it does not allow it for role credentials (send keys one by one, e.g. DeleteObject rather than DeleteObjects)` };
}

/** S3's AccessDenied error: 403 with its XML body (no body for HEAD, as S3 sends none). */
export function sendAccessDenied(request: IncomingMessage, response: ServerResponse, message: string): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const body =
    request.method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${escapeXml(message)}</Message><RequestId>${requestId}</RequestId><HostId>${randomBytes(24).toString('base64')}</HostId></Error>`;
  response.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-amz-request-id': requestId });
  response.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[char]!);
}
