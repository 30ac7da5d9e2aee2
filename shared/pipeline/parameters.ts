import type { ParameterSpec, ParameterValue, PipelineConfig } from '../schemas/mlops-v2';

/**
 * A run's parameter values: the defaults of mlops.yaml, with the overrides a run started by hand
 * gives. Pure.
 */

function typeError(spec: ParameterSpec, value: unknown): string | undefined {
  switch (spec.Type) {
    case 'String':
      if (typeof value !== 'string') return `must be a String, got ${JSON.stringify(value)}`;
      if (spec.EnumValues && !spec.EnumValues.includes(value)) return `must be one of ${spec.EnumValues.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`;
      return undefined;
    case 'Integer':
      return typeof value === 'number' && Number.isInteger(value) ? undefined : `must be an Integer, got ${JSON.stringify(value)}`;
    case 'Float':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `must be a Float, got ${JSON.stringify(value)}`;
    case 'Boolean':
      return typeof value === 'boolean' ? undefined : `must be a Boolean, got ${JSON.stringify(value)}`;
  }
}

/** Problems with the parameters' own defaults (a String default outside its EnumValues). Pure. */
export function parameterDefaultIssues(config: PipelineConfig): string[] {
  return Object.entries(config.Parameters).flatMap(([name, spec]) => {
    const problem = typeError(spec, spec.Default);
    return problem ? [`Parameters.${name}.Default: ${problem}`] : [];
  });
}

/**
 * The values of every parameter: each override (validated against the parameter's type and
 * EnumValues), else the default. Returns the problems instead when an override names no
 * parameter or has the wrong type, each naming `Parameters.<name>`. Pure.
 */
export function resolveParameters(config: PipelineConfig, overrides: Record<string, unknown> = {}): { values: Record<string, ParameterValue> } | { issues: string[] } {
  const issues: string[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    const spec = Object.hasOwn(config.Parameters, name) ? config.Parameters[name] : undefined;
    if (!spec) issues.push(`Parameters.${name}: no such parameter in mlops.yaml (parameters: ${Object.keys(config.Parameters).join(', ') || 'none'})`);
    else {
      const problem = typeError(spec, value);
      if (problem) issues.push(`Parameters.${name}: ${problem}`);
    }
  }
  if (issues.length > 0) return { issues };
  const values = Object.fromEntries(
    Object.entries(config.Parameters).map(([name, spec]): [string, ParameterValue] => [name, Object.hasOwn(overrides, name) ? (overrides[name] as ParameterValue) : spec.Default]),
  );
  return { values };
}
