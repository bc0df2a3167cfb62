// Checks the Terraform in infra/gcp without terraform or a cloud: every .tf file is parsed with
// @cdktf/hcl2json and the wiring, the IAM and the names/env (against shared/config) are asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { RESOURCE_ENV, RESOURCE_NAMES } from '../../shared/config/resource-names.js';
import { CONFIG_ENV_KEYS, INFERENCE_BACKENDS, loadConfig, projectRoot } from '../../shared/config/index.js';

type Body = Record<string, unknown>;
interface Terraform {
  resource: Record<string, Record<string, Body>>;
  data: Record<string, Record<string, Body>>;
  variable: Record<string, Body>;
  output: Record<string, Body>;
  locals: Body;
  terraform: Body[];
}

const ROOT = projectRoot();
const TF_DIR = join(ROOT, 'infra', 'gcp');

// hcl2json gives every block as a list of bodies; each block here appears once, so unwrap them.
async function loadTerraform(): Promise<Terraform> {
  const tf: Terraform = { resource: {}, data: {}, variable: {}, output: {}, locals: {}, terraform: [] };
  const files = readdirSync(TF_DIR).filter((f) => f.endsWith('.tf'));
  assert.ok(files.length > 5, `expected the Terraform files in ${TF_DIR}`);
  for (const file of files) {
    const json = await parse(file, readFileSync(join(TF_DIR, file), 'utf8'));
    for (const [kind, blocks] of Object.entries(json)) {
      if (kind === 'resource' || kind === 'data') {
        for (const [type, named] of Object.entries(blocks as Record<string, Record<string, Body[]>>)) {
          for (const [name, bodies] of Object.entries(named)) {
            assert.equal(tf[kind][type]?.[name], undefined, `${kind} ${type}.${name} is declared twice`);
            (tf[kind][type] ??= {})[name] = single(bodies, `${type}.${name}`);
          }
        }
      } else if (kind === 'variable' || kind === 'output') {
        for (const [name, bodies] of Object.entries(blocks as Record<string, Body[]>)) {
          assert.equal(tf[kind][name], undefined, `${kind} ${name} is declared twice`);
          tf[kind][name] = single(bodies, name);
        }
      } else if (kind === 'locals') {
        for (const body of blocks as Body[]) Object.assign(tf.locals, body);
      } else if (kind === 'terraform') {
        tf.terraform.push(...(blocks as Body[]));
      }
    }
  }
  return tf;
}

function single(bodies: Body[], label: string): Body {
  assert.equal(bodies.length, 1, `${label}: expected one block`);
  return bodies[0]!;
}

function block(body: Body, key: string): Body {
  const value = body[key];
  assert.ok(Array.isArray(value) && value.length === 1, `expected one ${key} block`);
  return value[0] as Body;
}

function resource(tf: Terraform, type: string, name: string): Body {
  const body = tf.resource[type]?.[name];
  assert.ok(body, `missing resource ${type}.${name}`);
  return body;
}

function variableDefault(tf: Terraform, name: string): unknown {
  const v = tf.variable[name];
  assert.ok(v, `missing variable ${name}`);
  return v.default;
}

/** Every variable the code reads, as the config module declares them. */
function configEnvKeys(): Set<string> {
  const keys = new Set(CONFIG_ENV_KEYS);
  assert.ok(keys.size > 10, 'found the config keys');
  return keys;
}

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// RESOURCE_NAMES key -> the Terraform resource that carries the name.
const NAMED_RESOURCES: Record<keyof typeof RESOURCE_NAMES, [type: string, name: string]> = {
  inputBucket: ['google_storage_bucket', 'input'],
  outputBucket: ['google_storage_bucket', 'output'],
  uploadsTopic: ['google_pubsub_topic', 'uploads'],
  uploadsBufferSubscription: ['google_pubsub_subscription', 'uploads_buffer'],
  workTopic: ['google_pubsub_topic', 'work'],
  resultsTopic: ['google_pubsub_topic', 'results'],
  deadLetterTopic: ['google_pubsub_topic', 'dead_letter'],
};

const tf = await loadTerraform();

test('the google provider is pinned (to the schema infra-terraform-schema checks) and state lives in a GCS backend', () => {
  const settings = tf.terraform[0]!;
  const providers = block(settings, 'required_providers') as Record<string, { source: string; version: string }>;
  assert.equal(providers.google?.source, 'hashicorp/google');
  assert.match(providers.google?.version ?? '', /^~> 6\.50\.0$/);
  const backend = settings.backend as Body[] | Body;
  const backends = Array.isArray(backend) ? backend : [backend];
  assert.ok(backends.some((b) => 'gcs' in b), 'backend "gcs" {}');
});

test('the input bucket notifies the uploads topic of finalized objects, as JSON_API_V1, with the agent allowed to publish', () => {
  const notification = resource(tf, 'google_storage_notification', 'input_uploads');
  assert.equal(notification.bucket, '${google_storage_bucket.input.name}');
  assert.equal(notification.topic, '${google_pubsub_topic.uploads.id}');
  assert.equal(notification.payload_format, 'JSON_API_V1');
  assert.deepEqual(notification.event_types, ['OBJECT_FINALIZE']);
  const grant = resource(tf, 'google_pubsub_topic_iam_member', 'uploads_gcs_agent_publisher');
  assert.equal(grant.topic, '${google_pubsub_topic.uploads.id}');
  assert.equal(grant.role, 'roles/pubsub.publisher');
  assert.match(String(grant.member), /data\.google_storage_project_service_account\.gcs_agent\.email_address/);
  assert.deepEqual(notification.depends_on, ['${google_pubsub_topic_iam_member.uploads_gcs_agent_publisher}']);
});

test('buckets use uniform access; models are versioned; inputs age out only when the worker does not delete them', () => {
  for (const name of ['input', 'output', 'models', 'function_source']) {
    const bucket = resource(tf, 'google_storage_bucket', name);
    assert.equal(bucket.uniform_bucket_level_access, true, name);
    assert.equal(bucket.public_access_prevention, 'enforced', name);
  }
  assert.equal(block(resource(tf, 'google_storage_bucket', 'models'), 'versioning').enabled, true);
  const inputRule = (resource(tf, 'google_storage_bucket', 'input').dynamic as Record<string, Body[]>).lifecycle_rule![0]!;
  assert.match(String(inputRule.for_each), /!var\.delete_input/);
});

test('uploads-buffer is a pull subscription on uploads that never expires; the dead-letter topic has a pull subscription', () => {
  const buffer = resource(tf, 'google_pubsub_subscription', 'uploads_buffer');
  assert.equal(buffer.topic, '${google_pubsub_topic.uploads.id}');
  assert.equal(buffer.push_config, undefined, 'flush pulls: no push_config');
  assert.equal(buffer.ack_deadline_seconds, '${var.uploads_buffer_ack_deadline_seconds}');
  assert.equal(block(buffer, 'expiration_policy').ttl, '');
  const dead = resource(tf, 'google_pubsub_subscription', 'dead_letter');
  assert.equal(dead.topic, '${google_pubsub_topic.dead_letter.id}');
  assert.equal(dead.push_config, undefined);
  const results = resource(tf, 'google_pubsub_subscription', 'results');
  assert.equal(results.topic, '${google_pubsub_topic.results.id}');
});

test('the worker is triggered by the work topic with retries, and failed batches dead-letter', () => {
  const worker = resource(tf, 'google_cloudfunctions2_function', 'worker');
  const trigger = block(worker, 'event_trigger');
  assert.equal(trigger.event_type, 'google.cloud.pubsub.topic.v1.messagePublished');
  assert.equal(trigger.pubsub_topic, '${google_pubsub_topic.work.id}');
  assert.equal(trigger.retry_policy, 'RETRY_POLICY_RETRY');
  assert.equal(trigger.trigger_region, '${var.region}');
  assert.equal(trigger.service_account_email, '${google_service_account.worker_trigger.email}');

  // Eventarc owns the subscription: the dead-letter policy is set on it by terraform_data + gcloud.
  const dlq = resource(tf, 'terraform_data', 'worker_dead_letter_policy');
  assert.ok((dlq.triggers_replace as string[]).includes('${google_cloudfunctions2_function.worker.event_trigger[0].trigger}'));
  const exec = block(dlq.provisioner as Body, 'local-exec');
  const env = exec.environment as Record<string, string>;
  assert.equal(env.DEAD_LETTER_TOPIC, '${google_pubsub_topic.dead_letter.id}');
  assert.equal(env.MAX_DELIVERY_ATTEMPTS, '${tostring(var.worker_max_delivery_attempts)}');
  assert.equal(env.ACK_DEADLINE_SECONDS, '${tostring(var.worker_ack_deadline_seconds)}');
  assert.match(env.TRIGGER ?? '', /google_cloudfunctions2_function\.worker\.event_trigger\[0\]\.trigger/);
  const script = readFileSync(join(TF_DIR, 'scripts', 'set-worker-dead-letter.sh'), 'utf8');
  assert.match(String(exec.command), /scripts\/set-worker-dead-letter\.sh/);
  for (const flag of ['--dead-letter-topic="$DEAD_LETTER_TOPIC"', '--max-delivery-attempts="$MAX_DELIVERY_ATTEMPTS"', '--ack-deadline="$ACK_DEADLINE_SECONDS"', 'transport.pubsub.subscription', '--role=roles/pubsub.subscriber']) {
    assert.ok(script.includes(flag), `the script passes ${flag}`);
  }
  const agentPublishes = resource(tf, 'google_pubsub_topic_iam_member', 'dead_letter_pubsub_agent_publisher');
  assert.equal(agentPublishes.topic, '${google_pubsub_topic.dead_letter.id}');
  assert.equal(agentPublishes.role, 'roles/pubsub.publisher');
  assert.match(String(tf.locals.pubsub_service_agent), /gcp-sa-pubsub\.iam\.gserviceaccount\.com/);

  const attempts = Number(variableDefault(tf, 'worker_max_delivery_attempts'));
  assert.ok(attempts >= 5 && attempts <= 100, 'Pub/Sub allows 5..100 delivery attempts');
});

test('worker timeout is at most 540 s and below the ack deadline; memory covers the model and the largest image', () => {
  const worker = resource(tf, 'google_cloudfunctions2_function', 'worker');
  const service = block(worker, 'service_config');
  assert.equal(service.timeout_seconds, '${var.worker_timeout_seconds}');
  assert.equal(service.max_instance_count, '${var.worker_max_instances}');
  assert.equal(service.max_instance_request_concurrency, 1);
  const timeout = Number(variableDefault(tf, 'worker_timeout_seconds'));
  const ackDeadline = Number(variableDefault(tf, 'worker_ack_deadline_seconds'));
  assert.ok(timeout <= 540 && timeout < ackDeadline, `${timeout} s <= 540 and < ${ackDeadline} s`);
  assert.match(JSON.stringify(worker.lifecycle), /var\.worker_timeout_seconds < var\.worker_ack_deadline_seconds/);

  // Worst case per image (README): the memory budget the worker refuses images beyond (estimated
  // from the header); plus ~500 MB measured for the runtime and the onnxruntime session at 512x512
  // tiles. Unset concurrency is the engine's: 2.
  const budgetMb = Number(variableDefault(tf, 'memory_budget_mb'));
  const perImageBytes = budgetMb * 2 ** 20;
  const concurrency = Number(variableDefault(tf, 'worker_concurrency') ?? 2);
  const peakBytes = 500e6 + concurrency * perImageBytes;
  const memory = String(variableDefault(tf, 'worker_memory'));
  const [, amount, unit] = /^(\d+)(Mi|Gi)$/.exec(memory) ?? [];
  const memoryBytes = Number(amount) * (unit === 'Gi' ? 2 ** 30 : 2 ** 20);
  assert.ok(memoryBytes >= peakBytes * 1.25, `${memory} leaves 25 % headroom over ${(peakBytes / 1e9).toFixed(2)} GB`);
  assert.equal(perImageBytes, loadConfig({}).worker.memoryBudgetBytes, 'memory_budget_mb default = CLOUDSEG_MEMORY_BUDGET_MB default');
});

test('the scheduler POSTs to flush with an OIDC token of its own account', () => {
  const job = resource(tf, 'google_cloud_scheduler_job', 'flush');
  const target = block(job, 'http_target');
  assert.equal(target.http_method, 'POST');
  assert.equal(target.uri, '${google_cloudfunctions2_function.flush.service_config[0].uri}');
  const oidc = block(target, 'oidc_token');
  assert.equal(oidc.service_account_email, '${google_service_account.scheduler.email}');
  assert.equal(oidc.audience, target.uri);
  assert.equal(block(job, 'retry_config').retry_count, 0);
});

test('functions: gen2 Node, entry points from dist/functions/index.js, internal ingress, own accounts, nobody public', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string };
  assert.equal(pkg.main, 'dist/functions/index.js');
  for (const name of ['flush', 'worker']) {
    const fn = resource(tf, 'google_cloudfunctions2_function', name);
    const build = block(fn, 'build_config');
    assert.equal(build.entry_point, name);
    assert.equal(build.runtime, '${var.node_runtime}');
    const source = block(block(build, 'source'), 'storage_source');
    assert.equal(source.bucket, '${google_storage_bucket.function_source.name}');
    assert.equal(source.object, '${google_storage_bucket_object.function_source.name}');
    const service = block(fn, 'service_config');
    assert.equal(service.ingress_settings, 'ALLOW_INTERNAL_ONLY');
    assert.equal(service.service_account_email, `\${google_service_account.${name}.email}`);
  }
  assert.equal(resource(tf, 'google_cloudfunctions2_function', 'flush').event_trigger, undefined, 'flush is an HTTP function');
  const text = JSON.stringify(tf);
  assert.doesNotMatch(text, /allUsers|allAuthenticatedUsers/);
});

// Google's Cloud Run functions runtime schedule for Node (decommission: no more builds or deploys).
// A runtime past its date makes the test below fail: drop it from node_runtime, move the default on.
const NODE_RUNTIME_DECOMMISSIONED: Record<string, string> = {
  nodejs18: '2025-10-31',
  nodejs20: '2026-10-30',
  nodejs22: '2027-10-31',
  nodejs24: '2028-10-31',
};

/** The runtimes named in `contains([...], var.node_runtime)` of a validation condition. */
function runtimesIn(condition: unknown): string[] {
  const list = /contains\(\[([^\]]*)\], var\.node_runtime\)/.exec(String(condition))?.[1];
  assert.ok(list, `a contains([...], var.node_runtime) condition: ${String(condition)}`);
  return [...list.matchAll(/"(nodejs\d+)"/g)].map((m) => m[1]!);
}

test('node_runtime: nodejs24 by default (the Node the tests run on), nodejs22 allowed, decommissioned runtimes refused with the reason', () => {
  const today = new Date().toISOString().slice(0, 10);
  const variable = tf.variable.node_runtime!;
  const runtime = String(variable.default);
  assert.equal(runtime, 'nodejs24');
  const pinnedNode = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.node!;
  assert.equal(runtime, `nodejs${pinnedNode.split('.')[0]}`, 'production runs the Node major the tests run on');

  const validations = variable.validation as Body[];
  const refused = validations.find((v) => String(v.condition).startsWith('${!contains('));
  const allowed = validations.find((v) => String(v.condition).startsWith('${contains('));
  assert.ok(refused && allowed, 'one validation refuses decommissioned runtimes, one lists the allowed ones');
  assert.deepEqual(runtimesIn(allowed.condition).sort(), ['nodejs22', 'nodejs24']);
  assert.ok(runtimesIn(refused.condition).includes('nodejs20'));
  assert.match(String(refused.error_message), /decommissioned nodejs20 on 2026-10-30/);
  for (const name of [runtime, ...runtimesIn(allowed.condition)]) {
    const until = NODE_RUNTIME_DECOMMISSIONED[name];
    assert.ok(until, `${name} is in the runtime schedule`);
    assert.ok(today < until, `${name} was decommissioned on ${until}: refuse it in node_runtime's validation`);
    assert.ok(!runtimesIn(refused.condition).includes(name), `${name} is both allowed and refused`);
  }
  for (const [name, until] of Object.entries(NODE_RUNTIME_DECOMMISSIONED)) {
    if (until <= today) assert.ok(runtimesIn(refused.condition).includes(name), `${name} (decommissioned ${until}) is refused`);
  }
});

test('every service account holds exactly its listed grants, each on one resource; no project-wide roles', () => {
  const expected: Record<string, string[]> = {
    flush: [
      'google_pubsub_subscription_iam_member roles/pubsub.subscriber ${google_pubsub_subscription.uploads_buffer.name}',
      'google_pubsub_topic_iam_member roles/pubsub.publisher ${google_pubsub_topic.work.id}',
      'google_storage_bucket_iam_member roles/storage.objectViewer ${google_storage_bucket.input.name}',
    ],
    worker: [
      'google_pubsub_topic_iam_member roles/pubsub.publisher ${google_pubsub_topic.results.id}',
      'google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor ${var.model_repo_token_secret}',
      'google_storage_bucket_iam_member ${google_project_iam_custom_role.input_deleter[0].id} ${google_storage_bucket.input.name}',
      'google_storage_bucket_iam_member roles/storage.objectUser ${google_storage_bucket.output.name}',
      'google_storage_bucket_iam_member roles/storage.objectViewer ${google_storage_bucket.input.name}',
      'google_storage_bucket_iam_member roles/storage.objectViewer ${google_storage_bucket.models.name}',
    ],
    scheduler: ['google_cloud_run_service_iam_member roles/run.invoker ${google_cloudfunctions2_function.flush.name}'],
    worker_trigger: ['google_cloud_run_service_iam_member roles/run.invoker ${google_cloudfunctions2_function.worker.name}'],
  };
  const actual: Record<string, string[]> = {};
  for (const [type, named] of Object.entries(tf.resource)) {
    assert.doesNotMatch(type, /^google_(project|folder|organization)_iam_(member|binding|policy)$/, `no ${type}`);
    if (!/_iam_(member|binding|policy)$/.test(type)) continue;
    assert.match(type, /_iam_member$/, `${type}: add members, never replace a resource's policy`);
    for (const body of Object.values(named)) {
      const account = /google_service_account\.([a-z_]+)\.email/.exec(String(body.member))?.[1];
      if (!account) continue; // Google's service agents, asserted where they matter
      const target = body.topic ?? body.subscription ?? body.bucket ?? body.service ?? body.secret_id;
      (actual[account] ??= []).push(`${type} ${String(body.role)} ${String(target)}`);
    }
  }
  for (const list of Object.values(actual)) list.sort();
  assert.deepEqual(actual, expected);
  assert.deepEqual(Object.keys(tf.resource.google_service_account ?? {}).sort(), Object.keys(expected).sort());

  // The input deleter exists only when deletion is on, and holds only storage.objects.delete.
  const role = resource(tf, 'google_project_iam_custom_role', 'input_deleter');
  assert.equal(role.count, '${var.delete_input ? 1 : 0}');
  assert.deepEqual(role.permissions, ['storage.objects.delete']);
  assert.equal(resource(tf, 'google_storage_bucket_iam_member', 'worker_input_deleter').count, '${var.delete_input ? 1 : 0}');
  // The registry token is readable by the worker only when one is configured, and only that secret.
  assert.equal(resource(tf, 'google_secret_manager_secret_iam_member', 'worker_repo_token').count, '${var.model_repo_token_secret == "" ? 0 : 1}');
});

test('names: Terraform defaults equal RESOURCE_NAMES and reach the code under the RESOURCE_ENV variables', () => {
  const env = tf.locals.common_env as Record<string, string>;
  for (const key of Object.keys(RESOURCE_NAMES) as (keyof typeof RESOURCE_NAMES)[]) {
    const variable = snake(key);
    assert.equal(variableDefault(tf, variable), RESOURCE_NAMES[key], `variable ${variable}`);
    const [type, name] = NAMED_RESOURCES[key];
    assert.match(String(resource(tf, type, name).name), new RegExp(`\\$\\{var\\.${variable}\\}$`), `${type}.${name} is named by var.${variable}`);
    assert.equal(env[RESOURCE_ENV[key]], `\${${type}.${name}.name}`, `${RESOURCE_ENV[key]} carries ${type}.${name}`);
  }
});

test('env: every variable Terraform sets is one shared/config reads, with the same defaults', () => {
  const keys = configEnvKeys();
  const maps = { common_env: tf.locals.common_env, flush_env: tf.locals.flush_env, worker_env: tf.locals.worker_env, model_env: tf.locals.model_env } as Record<string, Record<string, string>>;
  for (const [mapName, map] of Object.entries(maps)) {
    assert.ok(map && Object.keys(map).length > 0, `local.${mapName}`);
    for (const key of Object.keys(map)) assert.ok(keys.has(key), `local.${mapName}.${key} is not read by shared/config`);
  }
  assert.equal(maps.flush_env!.CLOUDSEG_FLUSH_TOKEN ?? maps.common_env!.CLOUDSEG_FLUSH_TOKEN, undefined, 'production authenticates flush with OIDC');
  assert.equal(block(resource(tf, 'google_cloudfunctions2_function', 'flush'), 'service_config').environment_variables, '${merge(local.common_env, local.flush_env)}');
  assert.equal(block(resource(tf, 'google_cloudfunctions2_function', 'worker'), 'service_config').environment_variables, '${merge(local.common_env, local.worker_env, local.model_env, var.model_env)}');
  assert.match(JSON.stringify(tf.variable.model_env), /\^CLOUDSEG_MODEL_/);
  // Production reads the model from the registry: never a repo path that exists only in a checkout.
  assert.equal(maps.model_env!.CLOUDSEG_MODEL_REPO, '${var.model_repo}');
  assert.equal(maps.model_env!.CLOUDSEG_MODEL_DIR, undefined);
  assert.match(maps.model_env!.CLOUDSEG_MODEL_REMOTE_CONFIG!, /google_storage_bucket\.models\.name/);

  // Each setting's Terraform default is the code's default, so an unset variable means the same.
  const config = loadConfig({});
  const defaults: [variable: string, codeDefault: unknown][] = [
    ['flush_max_batch_items', config.flush.maxBatchItems],
    ['flush_max_batch_bytes', config.flush.maxBatchBytes],
    ['flush_max_messages', config.flush.maxMessages],
    ['flush_max_batches', config.flush.maxBatches],
    ['flush_pull_size', config.flush.pullSize],
    ['flush_empty_pulls', config.flush.emptyPullsToStop],
    ['flush_time_budget_ms', config.flush.timeBudgetMs],
    ['flush_max_batch_seconds', config.flush.maxBatchSeconds],
    ['worker_seconds_per_mpx', config.flush.workerSecondsPerMpx],
    ['worker_concurrency', config.worker.concurrency ?? null],
    ['infer_batch_tiles', config.model.batchTiles],
    ['memory_budget_mb', config.worker.memoryBudgetBytes / 2 ** 20],
    ['delete_input', config.worker.deleteInput],
    ['write_geotiff', config.worker.writeGeoTiff],
    ['inference_backend', config.model.backend],
    ['log_level', config.logLevel],
    ['output_prefix', config.buckets.outputPrefix],
  ];
  for (const [variable, codeDefault] of defaults) assert.equal(variableDefault(tf, variable), codeDefault, `var.${variable}`);
});

test('the flush leaves time after its pull budget; the buffer ack deadline is within Pub/Sub limits', () => {
  const budgetSeconds = Number(variableDefault(tf, 'flush_time_budget_ms')) / 1000;
  assert.ok(budgetSeconds + 60 <= Number(variableDefault(tf, 'flush_timeout_seconds')));
  const ack = Number(variableDefault(tf, 'uploads_buffer_ack_deadline_seconds'));
  assert.ok(ack >= 10 && ack <= 600);
});

test('the source zip ships what the build compiles and the bundled model; tfvars.example and README exist', () => {
  const script = readFileSync(join(ROOT, 'scripts', 'package-functions.sh'), 'utf8');
  const shipped = /shipped=\(([^)]*)\)/.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
  const buildConfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  for (const dir of [...buildConfig.include, 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'models']) {
    assert.ok(shipped.includes(dir), `the zip ships ${dir}`);
    assert.ok(existsSync(join(ROOT, dir)), `${dir} exists`);
  }
  assert.ok(existsSync(join(TF_DIR, 'terraform.tfvars.example')));
  const readme = readFileSync(join(TF_DIR, 'README.md'), 'utf8');
  for (const heading of ['Prerequisites', 'Apply', 'First upload', 'Watching results', 'Cost', 'Teardown']) {
    assert.match(readme, new RegExp(`^#+ .*${heading}`, 'mi'), `README section ${heading}`);
  }
});

test('the engine set: worker_engines picks the backend and what Cloud Build keeps (scripts/prune-runtime.mjs)', async () => {
  const { ENGINES } = (await import(join(ROOT, 'scripts', 'prune-runtime.mjs'))) as { ENGINES: string[] };
  assert.deepEqual([...ENGINES].sort(), INFERENCE_BACKENDS.filter((b) => b !== 'auto').sort(), 'the engines shared/config knows, besides auto');
  assert.deepEqual(variableDefault(tf, 'worker_engines'), ['onnxruntime']);
  const condition = String(block(tf.variable.worker_engines!, 'validation').condition);
  for (const engine of ENGINES) assert.ok(condition.includes(`"${engine}"`), `worker_engines allows ${engine}`);
  assert.deepEqual(tf.locals.flush_build_env, { CLOUDSEG_PRUNE_RUNTIME: '1', CLOUDSEG_ENGINES: 'none' });
  assert.deepEqual(tf.locals.worker_build_env, { CLOUDSEG_PRUNE_RUNTIME: '1', CLOUDSEG_ENGINES: '${join(",", var.worker_engines)}' });
  for (const name of ['flush', 'worker']) {
    assert.equal(block(resource(tf, 'google_cloudfunctions2_function', name), 'build_config').environment_variables, `\${local.${name}_build_env}`);
  }
  // One engine in the set: the worker loads that one (auto would try engines the build left out).
  assert.match(String((tf.locals.worker_env as Record<string, string>).CLOUDSEG_INFERENCE_BACKEND), /var\.worker_engines\[0\].*var\.inference_backend/);
});
