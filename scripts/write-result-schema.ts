// Writes shared/contracts/result-event.schema.json from the zod schema, so subscribers in other
// languages can validate result events. A unit test checks the committed file is current.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../shared/config/project-root.js';
import { resultEventJsonSchema } from '../shared/contracts/result-event-json-schema.js';

const path = join(projectRoot(), 'shared', 'contracts', 'result-event.schema.json');
await writeFile(path, `${JSON.stringify(resultEventJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${path}\n`);
