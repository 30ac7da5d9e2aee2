import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ROOT } from './fixtures';

export interface CfnResource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
}

export interface PackagedService {
  dir: string;
  template: { Resources: Record<string, CfnResource>; Conditions?: Record<string, unknown>; Outputs?: Record<string, unknown> };
  cleanup: () => void;
}

/**
 * Runs `serverless package` (osls, offline, no credentials) into a fresh temp dir and loads the
 * CloudFormation template it produced. Extra `--param`s set stage parameters.
 */
export function packageService(stage: string, params: Record<string, string> = {}): PackagedService {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-package-'));
  const args = ['package', '--stage', stage, '--package', dir, ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`])];
  const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', SLS_TELEMETRY_DISABLED: '1' };
  execFileSync(join(ROOT, 'node_modules', '.bin', 'serverless'), args, { cwd: ROOT, env, stdio: 'pipe', timeout: 180_000 });
  const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as PackagedService['template'];
  return { dir, template, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Resources of one CloudFormation type, as [logicalId, resource] pairs. */
export function resourcesOfType(template: PackagedService['template'], type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** One IAM policy statement as it appears in the packaged template (values may be intrinsics). */
export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

type MaybeStatement = Statement | { 'Fn::If': [string, Statement | { Ref: string }, Statement | { Ref: string }] };

/**
 * Every statement of a role's inline policies, in order. A statement under `Fn::If` counts as
 * present (either branch that is a statement, never `AWS::NoValue`): what the role may be granted.
 */
export function statementsOf(role: CfnResource): Statement[] {
  // A role's inline policies, or a managed policy's own document.
  const document = role.Properties.PolicyDocument as { Statement: MaybeStatement[] } | undefined;
  const policies = document ? [{ PolicyDocument: document }] : ((role.Properties.Policies ?? []) as { PolicyDocument: { Statement: MaybeStatement[] } }[]);
  return policies
    .flatMap((policy) => policy.PolicyDocument.Statement)
    .flatMap((item): (Statement | { Ref: string })[] => ('Fn::If' in item ? [item['Fn::If'][1], item['Fn::If'][2]] : [item]))
    .filter((item): item is Statement => !('Ref' in item));
}

/** A statement's actions as a list. */
export const actions = (statement: Statement): string[] => [statement.Action].flat();

/** A statement's resources as a list. */
export const resources = (statement: Statement): unknown[] => [statement.Resource].flat();
