// infra/gcp against the google provider's schema (the compact copy in infra/gcp/schema, extracted
// from @cdktf/provider-google by scripts/terraform/extract-schema.ts): what `terraform validate`
// would reject for names, caught without terraform. Broken copies of real blocks show the check bites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/index.js';
import { loadTerraformDir, parseHcl, typedBlocks, type HclBody } from '../../scripts/terraform/load-hcl.js';
import { checkAgainstSchema, type SchemaProblem } from '../../scripts/terraform/check-schema.js';
import { loadProviderSchema } from '../../scripts/terraform/provider-schema.js';

const TF_DIR = join(projectRoot(), 'infra', 'gcp');
const schema = loadProviderSchema();
const files = await loadTerraformDir(TF_DIR);

/** The problems of infra/gcp with `file` replaced by `text` (a broken copy). */
async function problemsWith(file: string, text: string): Promise<SchemaProblem[]> {
  const others = files.filter((f) => f.file !== file);
  return checkAgainstSchema([...others, await parseHcl(file, text)], schema);
}

function edit(text: string, from: string | RegExp, to: string): string {
  const edited = text.replace(from, to);
  assert.notEqual(edited, text, `the edit ${String(from)} applies`);
  return edited;
}

const functionsTf = readFileSync(join(TF_DIR, 'functions.tf'), 'utf8');
const storageTf = readFileSync(join(TF_DIR, 'storage.tf'), 'utf8');

test('the schema is the google provider 6.50.0 one, from the bindings package, with provenance', () => {
  assert.equal(schema.provider, 'registry.terraform.io/hashicorp/google');
  assert.equal(schema.providerVersion, '6.50.0');
  assert.deepEqual({ package: schema.source.package, version: schema.source.version }, { package: '@cdktf/provider-google', version: '16.12.1' });
  assert.match(schema.source.integrity, /^sha512-/);
  assert.ok(schema.allTypes.resource.length > 1000 && schema.allTypes.data.length > 300, 'every type name of the provider');
  // Spot checks against the provider's documentation.
  const fn = schema.schemas.resource.google_cloudfunctions2_function!;
  assert.deepEqual(Object.keys(fn.blocks).sort(), ['build_config', 'event_trigger', 'service_config', 'timeouts']);
  assert.equal(fn.attributes.location?.required, true);
  assert.equal(schema.schemas.resource.google_storage_bucket!.blocks.lifecycle_rule!.block.blocks.action!.required, true);
});

test('versions.tf pins the google provider to the release the schema is from', () => {
  const settings = (files.find((f) => f.file === 'versions.tf')!.json.terraform as HclBody[])[0]!;
  const google = ((settings.required_providers as HclBody[])[0]!.google as { source: string; version: string });
  assert.equal(google.source, 'hashicorp/google');
  const [major, minor] = schema.providerVersion.split('.');
  // "~> 6.50.0" admits 6.50.x patch releases only, whose schema is the same.
  assert.equal(google.version, `~> ${major}.${minor}.0`);
});

test('every resource and data block of infra/gcp matches the provider schema', () => {
  const blocks = typedBlocks(files);
  assert.ok(blocks.length > 30, `found the blocks (${blocks.length})`);
  assert.deepEqual(checkAgainstSchema(files, schema), []);
});

test('a misspelled attribute is rejected, with the name it was probably meant to be', async () => {
  const problems = await problemsWith('functions.tf', edit(functionsTf, 'entry_point     = "flush"', 'entry_piont     = "flush"'));
  assert.deepEqual(problems.map((p) => [p.address, p.path, p.kind]), [
    ['resource.google_cloudfunctions2_function.flush', 'build_config.entry_piont', 'unknown-name'],
  ]);
  assert.match(problems[0]!.message, /did you mean entry_point\?/);
});

test('a missing required attribute and a missing required nested block are rejected', async () => {
  const noLocation = await problemsWith('functions.tf', edit(functionsTf, /resource "google_cloudfunctions2_function" "flush" \{\n(.*\n)*?\s+location\s+= var\.region\n/, 'resource "google_cloudfunctions2_function" "flush" {\n  name = var.flush_function_name\n'));
  assert.deepEqual(noLocation.map((p) => [p.address, p.path, p.kind]), [['resource.google_cloudfunctions2_function.flush', 'location', 'missing-required']]);

  // lifecycle_rule needs an action { type = ... }.
  const noAction = await problemsWith('storage.tf', edit(storageTf, /(days_since_noncurrent_time = [^\n]*\n\s*\}\n)\s*action \{\n\s*type = "Delete"\n\s*\}\n/, '$1'));
  assert.deepEqual(noAction.map((p) => [p.address, p.path, p.kind]), [['resource.google_storage_bucket.models', 'lifecycle_rule.action', 'missing-required']]);
});

test('unknown names inside dynamic blocks, blocks written as attributes and misspelled types are rejected', async () => {
  const dynamic = await problemsWith('storage.tf', edit(storageTf, 'age = lifecycle_rule.value', 'max_age = lifecycle_rule.value'));
  assert.deepEqual(dynamic.map((p) => [p.address, p.path, p.kind]), [
    ['resource.google_storage_bucket.input', 'lifecycle_rule.condition.max_age', 'unknown-name'],
  ]);

  const asAttribute = await problemsWith('storage.tf', edit(storageTf, /versioning \{\n\s*enabled = true\n\s*\}/, 'versioning = { enabled = true }'));
  assert.deepEqual(asAttribute.map((p) => [p.path, p.kind]), [['versioning', 'block-as-attribute']]);

  const type = await problemsWith('functions.tf', edit(functionsTf, 'resource "google_cloudfunctions2_function" "worker"', 'resource "google_cloudfunction2_function" "worker"'));
  assert.equal(type.length, 1);
  assert.equal(type[0]!.kind, 'unknown-type');
  assert.match(type[0]!.message, /did you mean google_cloudfunctions2_function\?/);

  // A real provider type the compact schema has not extracted yet: regenerate, not "unknown".
  const notExtracted = await problemsWith('functions.tf', `${functionsTf}\nresource "google_cloud_run_v2_service" "extra" {\n  name     = "x"\n  location = var.region\n}\n`);
  assert.deepEqual(notExtracted.map((p) => p.kind), ['type-not-extracted']);
});

test('a deprecated attribute is flagged with the provider\'s message', async () => {
  const problems = await problemsWith('storage.tf', edit(storageTf, 'source = local.source_zip', 'source = local.source_zip\n  detect_md5hash = "different hash"'));
  assert.deepEqual(problems.map((p) => [p.address, p.path, p.kind]), [['resource.google_storage_bucket_object.function_source', 'detect_md5hash', 'deprecated']]);
  assert.match(problems[0]!.message, /source_md5hash/);
});

test('terraform_data (Terraform\'s own) is checked too', async () => {
  const problems = await problemsWith('functions.tf', edit(functionsTf, 'triggers_replace = [', 'trigger_replace = ['));
  assert.deepEqual(problems.map((p) => [p.address, p.path, p.kind]), [['resource.terraform_data.worker_dead_letter_policy', 'trigger_replace', 'unknown-name']]);
});
