/**
 * The local Lambda runtime inside one worker process: loads the function's bundle once (its
 * cold start), then serves invocations sent over IPC one at a time, as a Lambda execution
 * environment does. Started by local/lambda/runner.ts with the function's own environment only.
 */
const [, , file, exportName] = process.argv;

let handler;
try {
  handler = require(file)[exportName];
  if (typeof handler !== 'function') throw new Error(`${file} does not export a function named ${exportName}`);
} catch (error) {
  process.send({ type: 'init-error', error: { errorType: error.name || 'Runtime.ImportModuleError', errorMessage: error.message } });
  process.exit(1);
}

process.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id, event, context: base } = message;
  const context = {
    ...base,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, base.deadlineMs - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await handler(event, context);
    process.send({ type: 'result', id, result: result === undefined ? null : result });
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    process.send({ type: 'result', id, error: { errorType: failure.name || 'Error', errorMessage: failure.message, trace: String(failure.stack || '').split('\n') } });
  }
});

// The runtime went away (even by SIGKILL): an execution environment never outlives its service.
process.on('disconnect', () => process.exit(0));

process.send({ type: 'ready' });
