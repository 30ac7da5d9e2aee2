import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { mlopsJsonSchema } from '../shared/schemas/mlops-json-schema';

/** `npm run schema`: writes schemas/mlops.schema.json from the zod schemas (shared/schemas/mlops-json-schema.ts). */
writeFileSync(join(__dirname, 'mlops.schema.json'), `${JSON.stringify(mlopsJsonSchema(), null, 2)}\n`);
