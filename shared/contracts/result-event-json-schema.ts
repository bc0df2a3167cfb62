// The result event as JSON Schema (draft 2020-12), derived from the one zod schema.
import { z } from 'zod';
import { RESULT_SCHEMA_ID, RESULT_SCHEMA_VERSION, ResultEventSchema } from './result-event.js';

export function resultEventJsonSchema(): Record<string, unknown> {
  return {
    $id: `urn:cloudseg:schema:${RESULT_SCHEMA_ID}`,
    title: 'cloudseg result event',
    version: RESULT_SCHEMA_VERSION,
    description: 'Published once per input image on the results topic; attributes status and model repeat fields for filtering.',
    ...z.toJSONSchema(ResultEventSchema, { io: 'output' }),
  };
}
