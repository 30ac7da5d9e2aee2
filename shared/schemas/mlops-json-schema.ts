import * as z from './zod';

import { mlopsV1Schema } from './mlops-config';
import { mlopsV2Schema } from './mlops-v2';

/**
 * A step given as an ACK manifest (shared/pipeline/ack-steps.ts): its Type, the manifest's path and
 * the wiring beside it. What the expanded step must hold is checked at push, once the manifest is read.
 */
const MANIFEST_STEP = {
  type: 'object',
  description: 'A step given as an ACK manifest of the SageMaker controller (apiVersion sagemaker.services.k8s.aws/v1alpha1); the fields beside Manifest wire its inputs and are laid over it. Reference: README.md#ack-manifests-as-steps.',
  required: ['Type', 'Manifest'],
  properties: {
    Type: { type: 'string', enum: ['Processing', 'Training', 'Tuning', 'Transform', 'RegisterModel'] },
    Manifest: { type: 'string', description: 'Path of the manifest file in the repository, e.g. k8s/train.yaml.' },
  },
} as const;

/** Lets every `Steps` map of the schema (top level, and a ForEach's) hold manifest steps too. Changes and returns `node`. */
function withManifestSteps<T>(node: T): T {
  if (Array.isArray(node)) node.forEach(withManifestSteps);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      const steps = value as { additionalProperties?: unknown } | null;
      if (key === 'Steps' && typeof steps === 'object' && steps !== null && typeof steps.additionalProperties === 'object') {
        steps.additionalProperties = { anyOf: [steps.additionalProperties, MANIFEST_STEP] };
      } else withManifestSteps(value);
    }
  }
  return node;
}

/**
 * The JSON Schema of mlops.yaml (both versions), generated from the zod schemas so that what
 * editors check is what Sluice checks. `npm run schema` writes it to schemas/mlops.schema.json;
 * a test fails when the committed file is out of date. What only the pipeline graph can tell
 * (references, types, cycles, the stage policy) is checked at push, not by the JSON Schema.
 */
export function mlopsJsonSchema(): Record<string, unknown> {
  const schema = withManifestSteps(z.toJSONSchema(z.discriminatedUnion('Version', [mlopsV1Schema, mlopsV2Schema]), { io: 'input', unrepresentable: 'any', target: 'draft-07', reused: 'ref' }));
  return {
    $schema: schema.$schema,
    title: 'Sluice mlops.yaml',
    description: 'How Sluice builds a model repository: Version 1 (the fixed Preprocess → Train → Evaluate → QualityGate → Register shape) or Version 2 (any pipeline of Processing, Training, Tuning, Transform, Condition, Fail and RegisterModel steps). Reference: README.md#mlopsyaml-reference.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}
