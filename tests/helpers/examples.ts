import { join } from 'node:path';

import { ROOT } from './fixtures';

/**
 * Running an example repository's scripts in the test's own process (tests/unit/examples/): its
 * modules, and a step's `main` with what it prints captured.
 */

/** A module of examples/<example>/, loaded as the example's container would (no Jest module mocks). */
export function exampleModule<T extends object>(example: string, file: string): T {
  return jest.requireActual<T>(join(ROOT, 'examples', example, file));
}

/** Runs `act` (a step's `main`) with console.log captured: the lines it printed and how long it took (ms). */
export async function runCapturingLog(act: () => Promise<void>): Promise<{ output: string; milliseconds: number }> {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  const started = performance.now();
  try {
    await act();
  } finally {
    log.mockRestore();
  }
  return { output: lines.join('\n'), milliseconds: performance.now() - started };
}
