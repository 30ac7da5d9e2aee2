import { config } from 'zod/mini';
import { en } from 'zod/locales';

/**
 * The zod every schema uses: `zod/mini` (the same validator core as classic zod, with the
 * functional API that tree-shakes: ~20 KB per bundle instead of ~95 KB, and about half the
 * construction cost at cold start; README "Performance"). zod/mini ships without messages, so the
 * English locale is installed here once: issues read "Invalid input: expected string, received
 * number" as they would with classic zod. Import schemas' `z` from this module, never from zod.
 */
config(en());

export * from 'zod/mini';
