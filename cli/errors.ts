/**
 * What the CLI tells a user when a command cannot go on: a code to match on (`--json` gives
 * `{"error": {"code", "message"}}`) and a message that says what to do next.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly code: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** Whether `error` (or its cause) is a refused or failed connection: nothing listens where the CLI looked. */
function isUnreachable(error: unknown): boolean {
  for (let current = error as { code?: unknown; name?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 4; current = current.cause as typeof current, depth += 1) {
    if (typeof current.code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND'].includes(current.code)) return true;
  }
  return false;
}

/**
 * Any error as the CLI reports it: a CliError as it is; a flag parseArgs refused as BadArguments; a connection the local runtime at `endpoint`
 * refused as RuntimeUnreachable (start it); an AWS error by its name; anything else as Error.
 */
export function reportedError(error: unknown, endpoint?: string): { code: string; message: string } {
  if (error instanceof CliError) return { code: error.code, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) return { code: 'BadArguments', message: `${(error as Error).message} (see "sluice help")` };
  if (endpoint && isUnreachable(error)) {
    return { code: 'RuntimeUnreachable', message: `the local runtime at ${endpoint} does not answer: start it with "npm start" (or "sluice up"), or point --endpoint / AWS_ENDPOINT_URL at a running one` };
  }
  const { name, message } = error as Error;
  return { code: typeof name === 'string' && name !== 'Error' ? name : 'Error', message: typeof message === 'string' ? message : String(error) };
}
