import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv from 'ajv';
import { parse } from 'yaml';

import { mlopsJsonSchema } from '../../../shared/schemas/mlops-json-schema';
import { ROOT } from '../../helpers/fixtures';

/** The published JSON Schema of mlops.yaml: generated from the zod schemas, and what editors check. */

const committed = JSON.parse(readFileSync(join(ROOT, 'schemas', 'mlops.schema.json'), 'utf8')) as Record<string, unknown>;
const examples = ['abalone', 'abalone-age', 'abalone-segments'].map((name) => ({ name, document: parse(readFileSync(join(ROOT, 'examples', name, 'mlops.yaml'), 'utf8')) as Record<string, unknown> }));

function validator() {
  return new Ajv({ strict: false, allErrors: true }).compile(committed);
}

describe('schemas/mlops.schema.json', () => {
  it('is what the zod schemas generate (run `npm run schema` after changing them)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(mlopsJsonSchema())));
  });

  it.each(examples)('accepts examples/$name/mlops.yaml', ({ document }) => {
    const validate = validator();

    expect(validate(document)).toBe(true);
  });

  it('rejects a Version 2 file with a field the schema does not know', () => {
    const validate = validator();
    const document = structuredClone(examples.find((example) => example.name === 'abalone-age')!.document);
    (document.Steps as Record<string, Record<string, unknown>>)[Object.keys(document.Steps as object)[0]!]!.RoleArn = 'arn:aws:iam::123456789012:role/Admin';

    expect(validate(document)).toBe(false);
  });

  it('rejects a Version it does not know', () => {
    const validate = validator();

    expect(validate({ ...examples[0]!.document, Version: 3 })).toBe(false);
  });
});

describe('schemas/mlops.schema.json: steps given as ACK manifests', () => {
  const withStep = (step: Record<string, unknown>) => {
    const document = structuredClone(examples.find((example) => example.name === 'abalone-age')!.document);
    (document.Steps as Record<string, unknown>).split = step;
    return document;
  };

  it('accepts a step that names a manifest and wires its inputs', () => {
    expect(validator()(withStep({ Type: 'Processing', Manifest: 'k8s/split.yaml', Inputs: { raw: { Dataset: 'abalone-age/' } } }))).toBe(true);
  });

  it('rejects a manifest step of a type that cannot be one', () => {
    expect(validator()(withStep({ Type: 'Condition', Manifest: 'k8s/split.yaml' }))).toBe(false);
  });
});
