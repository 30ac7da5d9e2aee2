/**
 * Client floors for bench/run.mjs: which AWS SDK v3 clients a bundle holds, read from its esbuild
 * metafile, and the source of the smallest bundle that holds exactly those clients — each created
 * at module scope, as shared/aws does, with one command sent from the handler. No Sluice code,
 * zod, logger or middy: what a function costs above its floor is its own.
 */

/**
 * The one command each client's floor sends, per package. Each is a command Sluice itself sends
 * through that client; the client class is also read from the metafile and must match. A package
 * missing here fails the run: add it rather than let a function go without a floor.
 * `@aws-sdk/lib-dynamodb`: a function that uses DynamoDBDocumentClient gets it in its floor too
 * (DynamoDBDocumentClient.from(new DynamoDBClient({})), one GetCommand, as shared/aws/dynamodb.ts
 * builds it): the document client's marshalling is part of what such a function cannot shed, and
 * the floor then sends no plain DynamoDB command, since such a function sends none either.
 */
export const FLOOR_COMMANDS = {
  '@aws-sdk/client-cloudwatch': ['CloudWatchClient', 'PutMetricAlarmCommand'],
  '@aws-sdk/client-codecommit': ['CodeCommitClient', 'GetFileCommand'],
  '@aws-sdk/client-codepipeline': ['CodePipelineClient', 'PutJobSuccessResultCommand'],
  '@aws-sdk/client-dynamodb': ['DynamoDBClient', 'GetItemCommand'],
  '@aws-sdk/client-eventbridge': ['EventBridgeClient', 'PutEventsCommand'],
  '@aws-sdk/client-s3': ['S3Client', 'HeadObjectCommand'],
  '@aws-sdk/client-sagemaker': ['SageMakerClient', 'CreateModelCommand'],
  '@aws-sdk/client-sagemaker-runtime': ['SageMakerRuntimeClient', 'InvokeEndpointCommand'],
  '@aws-sdk/client-sfn': ['SFNClient', 'SendTaskSuccessCommand'],
  '@aws-sdk/client-sqs': ['SQSClient', 'SendMessageCommand'],
  '@aws-sdk/lib-dynamodb': ['DynamoDBDocumentClient', 'GetCommand'],
};

/** `node_modules/@aws-sdk/<package>/dist-<flavour>/<Name>Client.js`, the last node_modules segment. */
const CLIENT_FILE = /(?:^|\/)node_modules\/(@aws-sdk\/(?:client|lib)-[^/]+)\/dist-[a-z]+\/(\w+Client)\.js$/;

/**
 * The SDK clients a build holds: every `@aws-sdk/client-*` (and lib-dynamodb) package whose client
 * class file contributes bytes to the output. A package imported only for an enum or a type (e.g.
 * `ModelApprovalStatus` from client-sagemaker) brings no client and does not count.
 * Returns package names, sorted. Throws when a package is missing from FLOOR_COMMANDS or its
 * client class differs from the table's.
 */
export function clientsInMetafile(metafile) {
  const packages = new Map();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = CLIENT_FILE.exec(input);
      if (match && bytesInOutput > 0) packages.set(match[1], match[2]);
    }
  }
  for (const [name, clientClass] of packages) {
    const known = FLOOR_COMMANDS[name];
    if (!known) throw new Error(`${name} (${clientClass}) has no floor command: add it to FLOOR_COMMANDS in bench/client-floor.mjs`);
    if (known[0] !== clientClass) throw new Error(`${name}: the bundle holds ${clientClass}, FLOOR_COMMANDS says ${known[0]}`);
  }
  return [...packages.keys()].sort();
}

/** `@aws-sdk/client-sagemaker-runtime` → `sagemakerRuntime`. */
const variableName = (name) => name.replace(/^@aws-sdk\/(client|lib)-/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());

/** A short file-name-safe key for a client set (`codecommit_s3_sfn_sqs`; `none` when empty). */
export const floorKey = (packages) => packages.map(variableName).join('_') || 'none';

/**
 * The entry source of the floor for `packages` (as clientsInMetafile returns them): imports, one
 * client per package at module scope, one `send` each in the handler (input from the event, so
 * nothing is folded away). Also returns the `Client.Command` pairs it uses, for the report.
 */
export function floorSource(packages) {
  const documentClient = packages.includes('@aws-sdk/lib-dynamodb');
  if (documentClient && !packages.includes('@aws-sdk/client-dynamodb')) throw new Error('@aws-sdk/lib-dynamodb without @aws-sdk/client-dynamodb: no DynamoDBClient to wrap');
  const imports = [];
  const clients = [];
  const sends = [];
  const commands = [];
  for (const name of packages) {
    const [clientClass, command] = FLOOR_COMMANDS[name];
    const wrapped = documentClient && name === '@aws-sdk/client-dynamodb';
    imports.push(`import { ${wrapped ? clientClass : `${clientClass}, ${command}`} } from '${name}';`);
    if (wrapped) continue;
    const variable = variableName(name);
    clients.push(name === '@aws-sdk/lib-dynamodb' ? `const ${variable} = ${clientClass}.from(new ${FLOOR_COMMANDS['@aws-sdk/client-dynamodb'][0]}({}));` : `const ${variable} = new ${clientClass}({});`);
    sends.push(`  await ${variable}.send(new ${command}(input.${variable}));`);
    commands.push(`${clientClass}.${command}`);
  }
  const source = [
    ...imports,
    '',
    ...clients,
    '',
    'export const handler = async (input: Record<string, never>) => {',
    ...sends,
    '};',
    '',
  ].join('\n');
  return { source, commands };
}
