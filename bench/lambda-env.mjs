/**
 * The environment a function's Lambda process starts with, for bench/run.mjs, worked out from
 * serverless.yml alone so that the bench never keeps its own list of variables: Lambda's own
 * variables, then `provider.environment`, then the function's `environment`, each value resolved
 * the way osls and CloudFormation would for a stage named `bench` in us-east-1 — Serverless
 * variables (`${self:…}`, `${sls:stage}`, `${param:…}` from `params.default`, `${opt:…}` and its
 * fallback, `${file(./x.js):name}` resolvers) and then the intrinsic functions (`Ref`,
 * `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`), whose physical names and ARNs are made up in the shapes
 * AWS gives them (a queue URL for an SQS Ref, a role ARN for an IAM role's Arn, …).
 * Throws, naming the variable, on anything it cannot resolve.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

const STAGE = 'bench';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

/** Serverless variable sources (CloudFormation's `${AWS::Region}` / `${Logical.Arn}` are left to Fn::Sub). */
const SLS_VARIABLE = /\$\{((?:self|sls|param|opt|env|aws|file\([^)]*\)):[^${}]*)\}/;

/**
 * Resolves `functionName`'s environment. `service` is the parsed serverless.yml, `root` its folder.
 * Returns every variable as a string.
 */
export async function lambdaEnvironment(service, root, functionName) {
  const fn = service.functions[functionName];
  const require = createRequire(join(root, 'serverless.yml'));
  // `resources` is one fragment or a list of them (osls merges the list); generated fragments (`${file(…)}`) are skipped.
  const fragments = Array.isArray(service.resources) ? service.resources : [service.resources ?? {}];
  const resources = Object.assign({}, ...fragments.map((fragment) => (fragment !== null && typeof fragment === 'object' ? (fragment.Resources ?? {}) : {})));
  const name = (logicalId) => `${service.service}-${STAGE}-${logicalId}`.toLowerCase();

  const lookup = async (expression) => {
    const [source, fallback] = expression.split(/,\s*/);
    const unquote = (value) => value?.replace(/^['"]|['"]$/g, '');
    const [kind, ...rest] = source.split(':');
    const path = rest.join(':');
    if (source === 'sls:stage' || source === 'opt:stage') return STAGE;
    if (source === 'opt:region' || source === 'aws:region') return REGION;
    if (source === 'aws:accountId') return ACCOUNT;
    if (kind === 'self') return slsValue(path.split('.').reduce((node, key) => node?.[key], service), expression);
    if (kind === 'param') return slsValue(service.params?.[STAGE]?.[path] ?? service.params?.default?.[path], expression);
    if (kind === 'opt' || kind === 'env') return unquote(fallback) ?? fail(expression);
    const file = /^file\(([^)]*)\)$/.exec(kind);
    if (file) {
      const resolver = require(join(root, file[1].trim()))[path];
      const resolveVariable = async (variable) => lookup(variable);
      return slsValue(typeof resolver === 'function' ? await resolver({ resolveVariable }) : resolver, expression);
    }
    return fail(expression);
  };
  const fail = (what) => {
    throw new Error(`${functionName}: cannot resolve ${what} for the bench environment (bench/lambda-env.mjs)`);
  };
  /** Serverless variables inside `value`, innermost first; a string that is one variable takes its value's type. */
  async function slsValue(value, what) {
    if (value === undefined || value === null) return fail(what);
    if (Array.isArray(value)) return Promise.all(value.map((item) => slsValue(item, what)));
    if (typeof value === 'object') return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await slsValue(v, what)])));
    if (typeof value !== 'string') return value;
    let text = value;
    for (let match = SLS_VARIABLE.exec(text); match; match = SLS_VARIABLE.exec(text)) {
      const resolved = await lookup(match[1]);
      if (match[0] === text) return slsValue(resolved, what);
      if (typeof resolved === 'object') fail(`${what} (${match[0]} is not a string)`);
      text = text.replace(match[0], String(resolved));
    }
    return text;
  }

  const ref = (logicalId) => {
    const type = resources[logicalId]?.Type ?? (logicalId.endsWith('LambdaFunction') ? 'AWS::Lambda::Function' : undefined);
    switch (type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name(logicalId)}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name(logicalId)}`;
      case undefined:
        return fail(`Ref ${logicalId} (no such resource)`);
      default:
        return name(logicalId);
    }
  };
  const arn = (logicalId) => {
    const type = resources[logicalId]?.Type ?? (logicalId.endsWith('LambdaFunction') ? 'AWS::Lambda::Function' : undefined);
    const physical = name(logicalId);
    switch (type) {
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${physical}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${physical}`;
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physical}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${physical}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${physical}`;
      case undefined:
        return fail(`Fn::GetAtt ${logicalId}.Arn (no such resource)`);
      default:
        return `arn:aws:${type.split('::')[1].toLowerCase()}:${REGION}:${ACCOUNT}:${physical}`;
    }
  };
  const pseudo = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::StackName': `${service.service}-${STAGE}`, 'AWS::URLSuffix': 'amazonaws.com' };
  /** CloudFormation intrinsics, after Serverless variables. */
  const cfnValue = (value, what) => {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (Array.isArray(value)) return value.map((item) => cfnValue(item, what)).join(',');
    if (value?.Ref !== undefined) return pseudo[value.Ref] ?? ref(value.Ref);
    const getAtt = value?.['Fn::GetAtt'];
    if (getAtt) {
      const [logicalId, attribute] = Array.isArray(getAtt) ? getAtt : getAtt.split('.');
      return attribute === 'Arn' ? arn(logicalId) : name(logicalId);
    }
    const sub = value?.['Fn::Sub'];
    if (sub !== undefined) {
      const [template, variables = {}] = Array.isArray(sub) ? sub : [sub];
      return template.replace(/\$\{([^}]+)\}/g, (_, key) => {
        if (key in variables) return cfnValue(variables[key], what);
        if (key in pseudo) return pseudo[key];
        const [logicalId, attribute] = key.split('.');
        return attribute === 'Arn' ? arn(logicalId) : attribute ? name(logicalId) : ref(logicalId);
      });
    }
    const join_ = value?.['Fn::Join'];
    if (join_) return join_[1].map((item) => cfnValue(item, what)).join(join_[0]);
    return fail(`${what} (${JSON.stringify(value)})`);
  };

  const environment = {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'ASIABENCH',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: `${service.service}-${STAGE}-${functionName}`,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize ?? service.provider.memorySize ?? 1024),
    AWS_EXECUTION_ENV: `AWS_Lambda_${service.provider.runtime}`,
  };
  for (const [key, value] of Object.entries({ ...service.provider.environment, ...fn.environment })) {
    environment[key] = cfnValue(await slsValue(value, key), key);
  }
  return environment;
}
