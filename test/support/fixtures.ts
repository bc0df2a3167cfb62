// The one place tests learn where the shared third-party fixtures are.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';

export const FIXTURES_DIR = resolve(process.env.CLOUDSEG_FIXTURES ?? join(projectRoot(), '..', 'shared', 'fixtures'));

export function fixture(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}

/** A reason to skip when the fixtures are not beside the checkout (printed loudly by the caller). */
export function fixturesMissing(): string | false {
  return existsSync(FIXTURES_DIR) ? false : `fixtures not found at ${FIXTURES_DIR} (set CLOUDSEG_FIXTURES)`;
}
