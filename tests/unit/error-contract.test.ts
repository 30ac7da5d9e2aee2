import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse } from 'yaml';

import * as errors from '../../shared/errors';
import { ERROR_NAMES } from '../../shared/errors';
import { ROOT } from '../helpers/fixtures';

/** Error names AWS itself raises; everything else in the ASL is ours. */
const AWS_PREFIXES = ['States.', 'Lambda.', 'EventBridge.', 'SageMaker.'];

interface State {
  Type: string;
  Resource?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[] }[];
  Error?: string;
  Parameters?: Record<string, unknown>;
}

const definitions = readdirSync(join(ROOT, 'statemachines'))
  .filter((file) => file.endsWith('.asl.yaml'))
  .map((file) => ({ file, states: (parse(readFileSync(join(ROOT, 'statemachines', file), 'utf8')) as { States: Record<string, State> }).States }));

/** Every error name a definition mentions: Retry/Catch ErrorEquals, Fail `Error`, and literal `Error` in Parameters. */
function namesIn(states: Record<string, State>): Set<string> {
  const names = new Set<string>();
  for (const state of Object.values(states)) {
    for (const rule of [...(state.Retry ?? []), ...(state.Catch ?? [])]) rule.ErrorEquals.forEach((name) => names.add(name));
    if (state.Error) names.add(state.Error);
    if (typeof state.Parameters?.Error === 'string') names.add(state.Parameters.Error);
  }
  return names;
}

const ours = (name: string) => !AWS_PREFIXES.some((prefix) => name.startsWith(prefix));
const declared = Object.keys(ERROR_NAMES);

describe('error names: the contract between code and state machines', () => {
  it('finds at least one state machine definition', () => {
    expect(definitions.length).toBeGreaterThan(0);
  });

  it.each(definitions)('every custom error name in $file is declared in shared/errors.ts', ({ states }) => {
    const undeclared = [...namesIn(states)].filter(ours).filter((name) => !declared.includes(name));

    expect(undeclared).toEqual([]);
  });

  it.each(definitions)('every Lambda task in $file retries the retryable errors', ({ states }) => {
    const retryable = declared.filter((name) => ERROR_NAMES[name as keyof typeof ERROR_NAMES] === 'retry');
    const lambdaTasks = Object.entries(states).filter(([, state]) => state.Type === 'Task' && state.Resource?.includes(':lambda:'));

    for (const [name, state] of lambdaTasks) {
      const retried = (state.Retry ?? []).flatMap((rule) => rule.ErrorEquals);
      expect({ state: name, missing: retryable.filter((error) => !retried.includes(error)) }).toEqual({ state: name, missing: [] });
    }
  });

  it('every error the state machines raise themselves appears in a definition', () => {
    const raised = declared.filter((name) => ERROR_NAMES[name as keyof typeof ERROR_NAMES] === 'fail-state');
    const used = new Set(definitions.flatMap(({ states }) => [...namesIn(states)]));

    expect(raised.filter((name) => !used.has(name))).toEqual([]);
  });

  it('every declared name belongs to exactly one error class, and every error class is declared', () => {
    type ConcreteError = new (message: string) => errors.SluiceError;
    const classes = Object.values(errors).filter(
      (value) => typeof value === 'function' && value.prototype instanceof errors.SluiceError && !Object.is(value, errors.SluiceError),
    ) as unknown as ConcreteError[];
    const classNames = classes.map((ErrorClass) => new ErrorClass('probe').name).sort();

    expect(classNames).toEqual([...declared].sort());
  });
});
