/**
 * IAM identity-policy evaluation, locally: the subset of AWS's evaluation logic the runtime needs to
 * authorize S3 requests made with an execution role's credentials. It is an emulation of that
 * subset, not IAM: no resource-based policies, permissions boundaries, SCPs or session policies;
 * string, Bool and Null conditions only. Pure: no I/O, the caller supplies the request context.
 *
 * Written here because the only npm IAM simulator found (@cloud-copilot/iam-simulate) is
 * AGPL-3.0, which this Apache-2.0 project cannot take.
 *
 * What it follows (AWS IAM User Guide):
 * - reference_policies_evaluation-logic.html and …_AccessPolicyLanguage_Interplay.html: an
 *   applicable Deny wins, then an applicable Allow, otherwise the request is implicitly denied;
 * - reference_policies_elements_action.html / _notaction.html / _resource.html / _notresource.html:
 *   `*` and `?` wildcards, action names case-insensitive, resource ARNs case-sensitive;
 * - reference_policies_elements_condition_operators.html: operators AND-ed, keys within an operator
 *   AND-ed, values of one key OR-ed; a key absent from the request makes a condition false, except
 *   negated operators (true), `…IfExists` (true) and Null;
 * - reference_policies_condition-single-vs-multi-valued-context-keys.html: ForAnyValue / ForAllValues;
 * - reference_policies_variables.html: `${key}` in Resource and string condition values (policy
 *   version 2012-10-17 only), `${*}`, `${?}`, `${$}` for literal characters.
 *
 * What it cannot judge, it does not guess: a statement using an operator or a condition key (or
 * policy variable) outside the supported set does not apply, and `onUnsupported` is told why.
 */

/** One statement of an identity policy, as JSON (Action, Resource, … may be a string or a list). */
export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** The request as policies see it: a value per context key (a list for multivalued keys). */
export interface AuthorizationRequest {
  /** `service:Action`, e.g. `s3:PutObject`. */
  action: string;
  /** The resource ARN, or `*` for actions that take no resource (s3:ListAllMyBuckets). */
  resource: string;
  /** Context keys present in this request (any case); keys absent here are absent from the request. */
  context: Record<string, string | string[]>;
}

export type Decision =
  | { effect: 'Allow'; statement: PolicyStatement }
  | { effect: 'ExplicitDeny'; statement: PolicyStatement }
  | { effect: 'ImplicitDeny' };

export interface EvaluationOptions {
  /** Condition keys the caller ever supplies (any case). A statement naming another key does not apply. */
  supportedKeys: Iterable<string>;
  /** Told once per evaluation for each statement that could not be judged, and why. */
  onUnsupported?(reason: string): void;
}

/** Thrown inside evaluation when a statement uses something outside the supported subset. */
class Unsupported extends Error {
  override readonly name = 'Unsupported';
}

const STRING_OPERATORS = new Set(['stringequals', 'stringnotequals', 'stringlike', 'stringnotlike', 'arnequals', 'arnnotequals', 'arnlike', 'arnnotlike']);

/**
 * Decides one request against a principal's identity policies: ExplicitDeny when an applicable
 * statement denies it, else Allow when one allows it, else ImplicitDeny. Never throws for policy
 * content it does not support (see the module doc).
 */
export function evaluatePolicies(policies: readonly PolicyDocument[], request: AuthorizationRequest, options: EvaluationOptions): Decision {
  const supported = new Set([...options.supportedKeys].map((key) => key.toLowerCase()));
  const context = new Map(Object.entries(request.context).map(([key, value]) => [key.toLowerCase(), value]));
  let allow: PolicyStatement | undefined;
  for (const policy of policies) {
    const variables = policy.Version === '2012-10-17';
    for (const statement of list(policy.Statement)) {
      let applies: boolean;
      try {
        applies = statementApplies(statement, request, { context, supported, variables });
      } catch (error) {
        if (!(error instanceof Unsupported)) throw error;
        options.onUnsupported?.(`statement ${statement.Sid ?? '(no Sid)'} is not evaluated locally: ${error.message}`);
        continue;
      }
      if (!applies) continue;
      if (statement.Effect === 'Deny') return { effect: 'ExplicitDeny', statement };
      if (statement.Effect === 'Allow') allow ??= statement;
    }
  }
  return allow ? { effect: 'Allow', statement: allow } : { effect: 'ImplicitDeny' };
}

interface Scope {
  context: Map<string, string | string[]>;
  supported: Set<string>;
  variables: boolean;
}

function statementApplies(statement: PolicyStatement, request: AuthorizationRequest, scope: Scope): boolean {
  const actionMatches = (patterns: string[]) => patterns.some((pattern) => globMatch(pattern, request.action, { ignoreCase: true }));
  if (statement.Action !== undefined && !actionMatches(list(statement.Action))) return false;
  if (statement.NotAction !== undefined && actionMatches(list(statement.NotAction))) return false;
  if (statement.Action === undefined && statement.NotAction === undefined) return false;
  const resourceMatches = (patterns: string[]) => patterns.some((pattern) => patternMatch(pattern, request.resource, scope));
  if (statement.Resource !== undefined && !resourceMatches(list(statement.Resource))) return false;
  if (statement.NotResource !== undefined && resourceMatches(list(statement.NotResource))) return false;
  if (statement.Resource === undefined && statement.NotResource === undefined) return false;
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, values] of Object.entries(keys)) {
      if (!conditionHolds(operator, key, list(values).map(String), scope)) return false;
    }
  }
  return true;
}

/** One `operator: { key: values }` entry of a Condition block. */
function conditionHolds(operatorName: string, key: string, values: string[], scope: Scope): boolean {
  const normalizedKey = key.toLowerCase();
  if (!scope.supported.has(normalizedKey)) throw new Unsupported(`condition key ${key} is not supplied by the local runtime`);
  let operator = operatorName.toLowerCase();
  let set: 'any' | 'all' | undefined;
  if (operator.startsWith('foranyvalue:')) [set, operator] = ['any', operator.slice('foranyvalue:'.length)];
  else if (operator.startsWith('forallvalues:')) [set, operator] = ['all', operator.slice('forallvalues:'.length)];
  const ifExists = operator.endsWith('ifexists');
  if (ifExists) operator = operator.slice(0, -'ifexists'.length);
  const present = scope.context.get(normalizedKey);

  if (operator === 'null') {
    if (set || ifExists) throw new Unsupported(`operator ${operatorName}`);
    const absent = present === undefined || (Array.isArray(present) && present.length === 0);
    return values.some((value) => (value.toLowerCase() === 'true') === absent);
  }
  if (operator !== 'bool' && !STRING_OPERATORS.has(operator)) throw new Unsupported(`condition operator ${operatorName}`);
  const negated = operator.includes('not');
  const matchOne = (actual: string) => {
    const matched = values.some((value) => {
      if (operator === 'bool') return value.toLowerCase() === actual.toLowerCase();
      if (operator.endsWith('like') || operator.startsWith('arn')) return patternMatch(value, actual, scope);
      return equalsWithVariables(value, actual, scope);
    });
    return negated ? !matched : matched;
  };
  const actuals = present === undefined ? [] : list(present);
  if (set === 'all') return actuals.every(matchOne);
  if (set === 'any') return actuals.some(matchOne);
  if (present === undefined) return ifExists || negated;
  return actuals.length > 0 && (negated ? actuals.every(matchOne) : actuals.some(matchOne));
}

/** StringEquals-style comparison, policy variables resolved (an absent variable matches nothing). */
function equalsWithVariables(pattern: string, actual: string, scope: Scope): boolean {
  const regex = compile(pattern, scope, { wildcards: false, ignoreCase: false });
  return regex !== undefined && regex.test(actual);
}

/** `*`/`?` glob with policy variables; case-sensitive (resources, StringLike values). */
function patternMatch(pattern: string, actual: string, scope: Scope): boolean {
  const regex = compile(pattern, scope, { wildcards: true, ignoreCase: false });
  return regex !== undefined && regex.test(actual);
}

/** `*`/`?` glob without variables (actions). */
function globMatch(pattern: string, actual: string, options: { ignoreCase: boolean }): boolean {
  return compile(pattern, undefined, { wildcards: true, ignoreCase: options.ignoreCase })!.test(actual);
}

const SPECIAL_VARIABLES: Record<string, string> = { '*': '*', '?': '?', $: '$' };

/**
 * A pattern as an anchored regex: `*` any run, `?` one character (when `wildcards`), `${key}`
 * the request's value of key (when the policy's version has variables). Undefined when a variable's
 * key is absent from the request: the pattern then matches nothing (reference_policies_variables.html).
 */
function compile(pattern: string, scope: Scope | undefined, options: { wildcards: boolean; ignoreCase: boolean }): RegExp | undefined {
  let source = '';
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index]!;
    if (char === '$' && pattern[index + 1] === '{' && scope?.variables) {
      const end = pattern.indexOf('}', index);
      if (end > 0) {
        const value = variable(pattern.slice(index + 2, end), scope);
        if (value === undefined) return undefined;
        source += escape(value);
        index = end;
        continue;
      }
    }
    if (options.wildcards && char === '*') source += '.*';
    else if (options.wildcards && char === '?') source += '.';
    else source += escape(char);
  }
  return new RegExp(`^${source}$`, options.ignoreCase ? 'is' : 's');
}

/** The value a policy variable stands for; undefined when its key is absent from the request. */
function variable(expression: string, scope: Scope): string | undefined {
  const [name, fallback] = expression.split(/,\s*/, 2) as [string, string | undefined];
  const key = name.trim();
  if (Object.hasOwn(SPECIAL_VARIABLES, key)) return SPECIAL_VARIABLES[key];
  const normalized = key.toLowerCase();
  if (!scope.supported.has(normalized)) throw new Unsupported(`policy variable \${${key}} is not supplied by the local runtime`);
  const value = scope.context.get(normalized);
  if (value === undefined || Array.isArray(value)) return fallback !== undefined ? fallback.replace(/^'|'$/g, '') : undefined;
  return value;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function list<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
