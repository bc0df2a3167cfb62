// infra/gcp is in `terraform fmt` style (hclwrite's formatter, as terraform fmt runs it, plus
// terraform's own rewrites), checked without terraform; badly formatted copies show the check bites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/index.js';
import { fmtFiles, fmtProblems } from '../../scripts/terraform/fmt.js';

const TF_DIR = join(projectRoot(), 'infra', 'gcp');
const read = (file: string) => readFileSync(join(TF_DIR, file), 'utf8');

test('every .tf file and the tfvars example are formatted as terraform fmt would (fix: npm run infra:fmt)', async () => {
  const files = fmtFiles(TF_DIR);
  assert.ok(files.includes('functions.tf') && files.includes('terraform.tfvars.example'), files.join(' '));
  const problems = (await Promise.all(files.map((f) => fmtProblems(f, read(f))))).flat();
  assert.deepEqual(problems, []);
});

test('misaligned equals signs, wrong indentation, interpolation-only values and legacy types are caught', async () => {
  const scheduler = read('scheduler.tf');
  const misaligned = scheduler.replace('  schedule         = var.flush_schedule', '  schedule = var.flush_schedule');
  assert.notEqual(misaligned, scheduler);
  assert.deepEqual((await fmtProblems('scheduler.tf', misaligned)).map((p) => p.line), [misaligned.split('\n').findIndex((l) => l.startsWith('  schedule =')) + 1]);

  const indented = scheduler.replace('    retry_count = 0', '      retry_count = 0');
  assert.equal((await fmtProblems('scheduler.tf', indented)).length, 1);

  const interpolated = scheduler.replace('  region           = var.region', '  region           = "${var.region}"');
  assert.deepEqual((await fmtProblems('scheduler.tf', interpolated)).map((p) => p.message), ['interpolation-only value: write var.region, not "${var.region}"']);
  // Text around the interpolation is a template terraform fmt leaves alone.
  assert.deepEqual(await fmtProblems('x.tf', 'a = "${var.b}-suffix"\n'), []);

  const legacy = await fmtProblems('variables.tf', 'variable "x" {\n  type = "string"\n}\n');
  assert.deepEqual(legacy.map((p) => p.line), [2]);
});
