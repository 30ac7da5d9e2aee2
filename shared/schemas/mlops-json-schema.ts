import * as z from './zod';

import { mlopsV1Schema } from './mlops-config';
import { mlopsV2Schema } from './mlops-v2';

/**
 * The JSON Schema of mlops.yaml (both versions), generated from the zod schemas so that what
 * editors check is what Sluice checks. `npm run schema` writes it to schemas/mlops.schema.json;
 * a test fails when the committed file is out of date. What only the pipeline graph can tell
 * (references, types, cycles, the stage policy) is checked at push, not by the JSON Schema.
 */
export function mlopsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(z.discriminatedUnion('Version', [mlopsV1Schema, mlopsV2Schema]), { io: 'input', unrepresentable: 'any', target: 'draft-07', reused: 'ref' });
  return {
    $schema: schema.$schema,
    title: 'Sluice mlops.yaml',
    description: 'How Sluice builds a model repository: Version 1 (the fixed Preprocess → Train → Evaluate → QualityGate → Register shape) or Version 2 (any pipeline of Processing, Training, Tuning, Transform, Condition, Fail and RegisterModel steps). Reference: README.md#mlopsyaml-reference.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}
