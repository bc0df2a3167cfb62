// infra/gcp's log-based metrics, alert policies and dashboard, checked without a cloud
// (scripts/terraform/check-monitoring.ts): the log filters against a real result line of our logger,
// the five alerts with their threshold variables and runbooks, the dashboard's charts; and broken
// copies of infra/gcp (in a temporary folder) show that each check fails when it should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { projectRoot } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging.js';
import { loadTerraformDir, parseHcl, typedBlocks, type HclBody } from '../../scripts/terraform/load-hcl.js';
import { checkMonitoring, renderTemplate, type MonitoringProblem } from '../../scripts/terraform/check-monitoring.js';
import { checkAgainstSchema } from '../../scripts/terraform/check-schema.js';
import { loadProviderSchema } from '../../scripts/terraform/provider-schema.js';

const TF_DIR = join(projectRoot(), 'infra', 'gcp');
const files = await loadTerraformDir(TF_DIR);
const blocks = typedBlocks(files);
const read = (file: string) => readFileSync(join(TF_DIR, file), 'utf8');

function resource(type: string, name: string): HclBody {
  const found = blocks.find((b) => b.type === type && b.name === name);
  assert.ok(found, `resource ${type}.${name}`);
  return found.body;
}
const first = (value: unknown) => (value as HclBody[])[0]!;
const locals = Object.assign({}, ...files.flatMap((f) => (f.json.locals ?? []) as HclBody[])) as Record<string, unknown>;
const variables = Object.fromEntries(files.flatMap((f) => Object.entries((f.json.variable ?? {}) as Record<string, HclBody[]>)).map(([k, v]) => [k, v[0]!]));

/** infra/gcp copied to a temporary folder with `edits` applied, checked; the copy is removed. */
async function problemsWith(edits: Record<string, (text: string) => string>): Promise<MonitoringProblem[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cloudseg-infra-'));
  try {
    cpSync(TF_DIR, dir, { recursive: true });
    for (const [file, edit] of Object.entries(edits)) {
      const text = readFileSync(join(dir, file), 'utf8');
      const edited = edit(text);
      assert.ok(edited !== text, `the edit of ${file} applies`);
      writeFileSync(join(dir, file), edited);
    }
    return checkMonitoring(await loadTerraformDir(dir), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const summary = (problems: MonitoringProblem[]) => problems.map((p) => `${p.file} ${p.address} ${p.path} ${p.kind}`);

// --- the result log line ------------------------------------------------------------------------

/** What the worker logs per result (fields as agreed for the result line), through our logger. */
function resultLine(fields: Record<string, unknown>, level: 'info' | 'warn' = 'info'): Record<string, unknown> {
  let line = '';
  const destination = new Writable({ write(chunk: Buffer, _enc, done) { line += chunk.toString(); done(); } });
  const logger = createLogger({ level: 'info', name: 'worker', destination });
  logger[level](fields, 'result');
  return JSON.parse(line) as Record<string, unknown>;
}

/** Cloud Run's parse of a JSON stdout line: severity leaves the payload, the rest is jsonPayload. */
function logEntry(line: Record<string, unknown>): { severity: unknown; jsonPayload: Record<string, unknown>; resource: Record<string, unknown> } {
  const { severity, ...jsonPayload } = line;
  return { severity, jsonPayload, resource: { type: 'cloud_run_revision', labels: { service_name: 'cloudseg-worker' } } };
}

function field(entry: object, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), entry);
}

/** The logging query subset our filters use: one `path="value"`, `path>=n` or `path>n` per line. */
function matches(filter: string, entry: object): boolean {
  return filter.split('\n').filter((l) => l.trim()).every((line) => {
    const m = /^([\w.]+)(=|>=|>)(?:"([^"]*)"|(-?[\d.]+))$/.exec(line.trim());
    assert.ok(m, `a filter line the test understands: ${line}`);
    const value = field(entry, m[1]!);
    if (m[2] === '=') return value === m[3];
    if (typeof value !== 'number') return false;
    return m[2] === '>=' ? value >= Number(m[4]) : value > Number(m[4]);
  });
}

const filterOf = (name: string) => String(resource('google_logging_metric', name).filter).replace('${local.result_log_filter}', String(locals.result_log_filter)).replace('${google_cloudfunctions2_function.worker.name}', 'cloudseg-worker');
const extracted = (extractor: string) => /^EXTRACT\((jsonPayload\.\w+)\)$/.exec(extractor)?.[1];

const succeeded = logEntry(resultLine({
  resultStatus: 'succeeded', errorCode: null, modelMd5: '0123456789abcdef0123456789abcdef', modelName: 'cloudseg-rgbi', engine: 'onnxruntime',
  pixels: 512 * 512, latencyMs: 61234, timingsMs: { download: 12, decode: 5, infer: 73, encode: 4, upload: 20, total: 114 },
}));
const failed = logEntry(resultLine({
  resultStatus: 'failed', errorCode: 'UNSUPPORTED_FORMAT', modelMd5: '0123456789abcdef0123456789abcdef', modelName: 'cloudseg-rgbi', engine: 'onnxruntime',
  pixels: null, latencyMs: null, timingsMs: { download: 12, decode: 0, infer: 0, encode: 0, upload: 0, total: 12 },
}, 'warn'));

test('the log filters select the worker\'s result line as our logger writes it, and extract its fields', () => {
  assert.equal(succeeded.severity, 'INFO');
  assert.equal(failed.severity, 'WARNING');
  assert.equal(succeeded.jsonPayload.message, 'result', 'pino writes the message under messageKey "message"');
  assert.equal(succeeded.jsonPayload.name, 'worker');

  assert.ok(matches(filterOf('results'), succeeded) && matches(filterOf('results'), failed), 'every result is counted');
  assert.ok(matches(filterOf('result_latency'), succeeded) && !matches(filterOf('result_latency'), failed), 'latency only where it is known');
  assert.ok(matches(filterOf('result_pixels'), succeeded) && !matches(filterOf('result_pixels'), failed), 'pixels only where known');
  const otherLogger = logEntry({ ...resultLine({ resultStatus: 'succeeded' }), name: 'flush' });
  const otherMessage = logEntry({ ...resultLine({}), message: 'batch done' });
  assert.ok(!matches(filterOf('results'), otherLogger) && !matches(filterOf('results'), otherMessage));

  const labels = (name: string) => resource('google_logging_metric', name).label_extractors as Record<string, string>;
  const values = Object.fromEntries(Object.entries(labels('results')).map(([k, e]) => [k, field(failed, extracted(e)!)]));
  assert.deepEqual(values, { status: 'failed', error_code: 'UNSUPPORTED_FORMAT', engine: 'onnxruntime', model_md5: '0123456789abcdef0123456789abcdef', model_name: 'cloudseg-rgbi' });
  assert.equal(field(succeeded, extracted(String(resource('google_logging_metric', 'result_latency').value_extractor))!), 61234);
  assert.equal(field(succeeded, extracted(String(resource('google_logging_metric', 'result_pixels').value_extractor))!), 262144);
  for (const name of ['result_latency', 'result_pixels']) assert.deepEqual(Object.keys(labels(name)).sort(), ['engine', 'status']);
});

// --- infra/gcp as it is -------------------------------------------------------------------------

test('infra/gcp\'s metrics, alerts and dashboard pass the monitoring check', () => {
  assert.deepEqual(checkMonitoring(files, TF_DIR), []);
});

const ALERTS: Record<string, { displayName: string; variables: string[] }> = {
  dead_letter: { displayName: 'cloudseg: dead-letter subscription not empty', variables: ['alert_dead_letter_max_messages'] },
  buffer_age: { displayName: 'cloudseg: uploads wait in the buffer', variables: ['alert_buffer_age_flush_intervals'] },
  failed_share: { displayName: 'cloudseg: failed share of results', variables: ['alert_failed_ratio'] },
  no_results: { displayName: 'cloudseg: uploads but no results', variables: ['alert_no_results_minutes'] },
  function_errors: { displayName: 'cloudseg: function errors', variables: ['alert_function_errors'] },
};

test('five alert policies, each with its threshold variable (default, description, validation) and a runbook in the README', () => {
  const policies = blocks.filter((b) => b.type === 'google_monitoring_alert_policy').map((b) => b.name).sort();
  assert.deepEqual(policies, Object.keys(ALERTS).sort());
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Monitoring and alerts'), readme.indexOf('\n## ', readme.indexOf('## Monitoring and alerts') + 1));
  assert.ok(section.length > 1000, 'README has a Monitoring and alerts section');
  for (const [name, { displayName, variables: vars }] of Object.entries(ALERTS)) {
    const policy = resource('google_monitoring_alert_policy', name);
    assert.equal(policy.display_name, displayName);
    assert.equal(policy.notification_channels, '${var.alert_notification_channels}');
    const conditions = JSON.stringify(policy.conditions);
    for (const variable of vars) {
      assert.ok(conditions.includes(`var.${variable}`), `${name}'s condition uses var.${variable}`);
      const declared = variables[variable];
      assert.ok(declared && 'default' in declared && declared.description && declared.validation, `var.${variable}: default, description, validation`);
      assert.ok(section.includes(`\`${variable}\``), `the README names ${variable}`);
    }
    const runbook = new RegExp(`^### ${displayName}\\n(.+\\n){3,}`, 'm').exec(section);
    assert.ok(runbook, `a runbook paragraph under "### ${displayName}"`);
  }
  const channels = variables.alert_notification_channels!;
  assert.deepEqual(channels.default, []);
  assert.match(JSON.stringify(channels.validation), /notificationChannels/);
  assert.match(read('terraform.tfvars.example'), /alert_notification_channels/);
});

test('the buffer-age threshold is in flush intervals, derived from flush_schedule unless flush_interval_seconds is set', () => {
  const condition = first(first(resource('google_monitoring_alert_policy', 'buffer_age').conditions).condition_threshold);
  assert.equal(condition.threshold_value, '${var.alert_buffer_age_flush_intervals * coalesce(local.flush_interval_seconds, 60)}');
  assert.match(String(condition.filter), /metric\.type="pubsub\.googleapis\.com\/subscription\/oldest_unacked_message_age"/);
  assert.match(String(condition.filter), /subscription_id="\$\{google_pubsub_subscription\.uploads_buffer\.name\}"/);
  assert.match(String(locals.flush_interval_seconds), /var\.flush_interval_seconds != null/);
  assert.match(JSON.stringify(resource('google_monitoring_alert_policy', 'buffer_age').lifecycle), /local\.flush_interval_seconds != null/);
});

test('the failed share is failed / (succeeded + failed) over 15 minutes', () => {
  const condition = first(first(resource('google_monitoring_alert_policy', 'failed_share').conditions).condition_threshold);
  assert.match(String(condition.filter), /metric\.label\.status="failed"/);
  assert.match(String(condition.denominator_filter), /metric\.label\.status=one_of\("succeeded", "failed"\)/);
  for (const key of ['aggregations', 'denominator_aggregations']) assert.equal(first(condition[key]).alignment_period, '900s');
});

/** The dashboard as Terraform renders it (names as samples, log-based metrics by their names). */
function dashboard(): { displayName: string; mosaicLayout: { tiles: { widget: Record<string, unknown> & { title: string } }[] } } {
  const text = read('dashboards/pipeline.json.tftpl');
  const logMetrics = new Map(blocks.filter((b) => b.type === 'google_logging_metric').map((b) => [b.name, { type: `logging.googleapis.com/user/${String(b.body.name)}`, info: { kind: 'DELTA' as const, valueType: 'INT64' as const, resourceTypes: [], labels: [] } }]));
  const rendered = renderTemplate({ logMetrics, locals: new Map() }, text, locals.dashboard_vars as Record<string, unknown>, (m) => assert.fail(m));
  return JSON.parse(rendered!) as ReturnType<typeof dashboard>;
}

test('the dashboard charts throughput, latency percentiles, failures, backlog, age, instances and the model in use', () => {
  const tiles = dashboard().mosaicLayout.tiles;
  const byTitle = (re: RegExp) => {
    const tile = tiles.find((t) => re.test(t.widget.title));
    assert.ok(tile, `a tile titled ${re}`);
    return JSON.stringify(tile.widget);
  };
  assert.match(byTitle(/^Images per minute by status/), /user\/cloudseg_results.*metric\.label\.\\"status\\"/);
  assert.match(byTitle(/^Megapixels per minute by status/), /sum by \(status\) \(increase\(logging_googleapis_com:user_cloudseg_result_pixels_sum\{/);
  const latency = byTitle(/^Latency upload to result/);
  for (const p of ['50', '95', '99']) assert.ok(latency.includes(`REDUCE_PERCENTILE_${p}`), `p${p}`);
  assert.match(byTitle(/^Failures by error code/), /error_code/);
  assert.match(byTitle(/^Backlog/), /num_undelivered_messages.*sample-uploads_subscription.*starts_with\(\\"sample-work_subscription_prefix/);
  assert.match(byTitle(/^Oldest unacked/), /oldest_unacked_message_age/);
  assert.match(byTitle(/^Instances by function/), /run\.googleapis\.com\/container\/instance_count/);
  assert.match(byTitle(/^Model in use/), /model_md5/);
  // The legend templates are Monitoring's own ${...}, escaped as $${...} in the template.
  assert.match(byTitle(/^Images per minute/), /"legendTemplate":"\$\{metric\.labels\.status\}"/);
});

test('the monitoring and logging types are in the provider schema and pass it', () => {
  const schema = loadProviderSchema();
  for (const type of ['google_logging_metric', 'google_monitoring_alert_policy', 'google_monitoring_dashboard']) assert.ok(schema.schemas.resource[type], type);
  assert.deepEqual(checkAgainstSchema(files, schema), []);
});

// --- broken copies ------------------------------------------------------------------------------

test('an unknown field in an alert policy is refused by the schema check', async () => {
  const monitoringTf = read('monitoring.tf');
  const broken = monitoringTf.replace('      threshold_value    = var.alert_failed_ratio', '      threshold_value    = var.alert_failed_ratio\n      threshold_percent  = 10');
  assert.notEqual(broken, monitoringTf);
  const problems = checkAgainstSchema([...files.filter((f) => f.file !== 'monitoring.tf'), await parseHcl('monitoring.tf', broken)], loadProviderSchema());
  assert.deepEqual(problems.map((p) => [p.address, p.path, p.kind]), [['resource.google_monitoring_alert_policy.failed_share', 'conditions.condition_threshold.threshold_percent', 'unknown-name']]);
});

test('a threshold variable that is not declared, or a literal threshold, is reported', async () => {
  const undeclared = await problemsWith({ 'variables.tf': (t) => t.replace(/\nvariable "alert_failed_ratio" \{\n(.*\n)*?\}\n/, '\n') });
  assert.deepEqual([...new Set(undeclared.map((p) => `${p.address} ${p.kind}`))], ['resource.google_monitoring_alert_policy.failed_share undeclared-variable']);
  assert.ok(undeclared.some((p) => p.path.endsWith('threshold_value') && /var\.alert_failed_ratio is not declared/.test(p.message)));

  const literal = await problemsWith({ 'monitoring.tf': (t) => t.replace('threshold_value = var.alert_function_errors', 'threshold_value = 5') });
  assert.deepEqual(summary(literal), ['monitoring.tf resource.google_monitoring_alert_policy.function_errors conditions.condition_threshold.threshold_value literal-threshold']);

  const noValidation = await problemsWith({ 'variables.tf': (t) => t.replace(/(variable "alert_dead_letter_max_messages" \{\n(?:.*\n)*?) {2}validation \{\n(?:.*\n)*? {2}\}\n/, '$1') });
  assert.deepEqual(noValidation.map((p) => p.kind), ['threshold-variable']);
});

test('alert filters naming a metric no log-based metric defines, a wrong label or resource type are reported', async () => {
  const renamed = await problemsWith({ 'logging-metrics.tf': (t) => t.replace('name        = "cloudseg_results"', 'name        = "cloudseg_result_count"') });
  assert.deepEqual(renamed, [], 'charts and alerts refer to the metric through Terraform, so a rename follows');

  const misnamed = await problemsWith({ 'monitoring.tf': (t) => t.replace('metric.type=\\"logging.googleapis.com/user/${google_logging_metric.results.name}\\" AND metric.label.status=\\"failed\\"', 'metric.type=\\"logging.googleapis.com/user/cloudseg_resluts\\" AND metric.label.status=\\"failed\\"') });
  assert.deepEqual(summary(misnamed), ['monitoring.tf resource.google_monitoring_alert_policy.failed_share conditions.condition_threshold.filter unknown-metric']);
  assert.match(misnamed[0]!.message, /no google_logging_metric defines logging\.googleapis\.com\/user\/cloudseg_resluts/);

  const label = await problemsWith({ 'monitoring.tf': (t) => t.replace('metric.label.response_code_class=', 'metric.label.response_class=') });
  assert.deepEqual(summary(label), ['monitoring.tf resource.google_monitoring_alert_policy.function_errors conditions.condition_threshold.filter unknown-label']);

  const resourceType = await problemsWith({ 'monitoring.tf': (t) => t.replace('filter          = "resource.type=\\"pubsub_subscription\\" AND resource.label.subscription_id=\\"${google_pubsub_subscription.dead_letter.name}\\"', 'filter          = "resource.type=\\"pubsub_topic\\" AND resource.label.subscription_id=\\"${google_pubsub_subscription.dead_letter.name}\\"') });
  assert.deepEqual(resourceType.map((p) => p.kind).sort(), ['resource-type', 'unknown-label']);

  const aligner = await problemsWith({ 'monitoring.tf': (t) => t.replace(/(alignment_period {3}= "300s"\n\s*per_series_aligner = )"ALIGN_MAX"/, '$1"ALIGN_RATE"') });
  assert.deepEqual(aligner.map((p) => [p.kind, p.message]), [['aggregation', 'ALIGN_RATE needs a DELTA or CUMULATIVE metric, this one is a GAUGE']]);

  const promql = await problemsWith({ 'monitoring.tf': (t) => t.replace('pubsub_googleapis_com:topic_send_request_count', 'pubsub_googleapis_com:topic_send_message_count') });
  assert.deepEqual(summary(promql), ['monitoring.tf resource.google_monitoring_alert_policy.no_results conditions.condition_prometheus_query_language.query unknown-metric']);

  const noDocs = await problemsWith({ 'monitoring.tf': (t) => t.replace(/(resource "google_monitoring_alert_policy" "no_results" \{\n(?:.*\n)*?) {2}documentation \{\n(?:.*\n)*? {2}\}\n/, '$1') });
  assert.deepEqual(summary(noDocs), ['monitoring.tf resource.google_monitoring_alert_policy.no_results documentation documentation']);
});

test('a dashboard that is not JSON, has an unknown field, names an unknown metric or label, or a missing template variable is reported', async () => {
  const template = 'dashboards/pipeline.json.tftpl';
  const invalid = await problemsWith({ [template]: (t) => t.replace('"columns": 48,', '"columns": 48') });
  assert.deepEqual(invalid.map((p) => [p.file, p.kind]), [[template, 'invalid-json']]);

  const unknownField = await problemsWith({ [template]: (t) => t.replace('"plotType": "LINE",\n                "legendTemplate": "p50"', '"plotTyp": "LINE",\n                "legendTemplate": "p50"') });
  assert.deepEqual(unknownField.map((p) => [p.path, p.kind]), [['mosaicLayout.tiles[6].widget.xyChart.dataSets[0].plotTyp', 'unknown-field']]);
  assert.match(unknownField[0]!.message, /fields: timeSeriesQuery, plotType/);

  const twoKinds = await problemsWith({ [template]: (t) => t.replace('"title": "Worker instances",', '"title": "Worker instances",\n          "text": { "content": "x" },') });
  assert.deepEqual(twoKinds.map((p) => [p.path, p.kind]), [['mosaicLayout.tiles[2].widget', 'missing-field']]);

  const unknownMetric = await problemsWith({ [template]: (t) => t.replace('"metric.type=\\"logging.googleapis.com/user/${latency_metric}\\"', '"metric.type=\\"logging.googleapis.com/user/cloudseg_latency\\"') });
  assert.deepEqual(unknownMetric.map((p) => [p.path, p.kind]), [['mosaicLayout.tiles[6].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter', 'unknown-metric']]);

  const unknownLabel = await problemsWith({ [template]: (t) => t.replace('"groupByFields": ["metric.label.\\"error_code\\""]', '"groupByFields": ["metric.label.\\"errorCode\\""]') });
  assert.deepEqual(unknownLabel.map((p) => [p.path, p.kind]), [['mosaicLayout.tiles[7].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.aggregation', 'unknown-label']]);

  const promqlLabel = await problemsWith({ [template]: (t) => t.replace('sum by (status)', 'sum by (result_status)') });
  assert.deepEqual(promqlLabel.map((p) => p.kind), ['unknown-label']);

  const missingVar = await problemsWith({ [template]: (t) => t.replace('${worker_service}\\"', '${worker_function}\\"') });
  assert.deepEqual(missingVar.map((p) => [p.file, p.kind]), [[template, 'template']]);
  assert.match(missingVar[0]!.message, /worker_function.*not in the template's vars map/);

  const overlap = await problemsWith({ [template]: (t) => t.replace('"xPos": 12, "yPos": 0, "width": 12', '"xPos": 6, "yPos": 0, "width": 12') });
  assert.deepEqual(overlap.map((p) => p.kind), ['layout']);
});

test('log-based metrics: extractors match the declared labels; a counter takes no value extractor', async () => {
  const extra = await problemsWith({ 'logging-metrics.tf': (t) => t.replace('    model_name = "EXTRACT(jsonPayload.modelName)"\n', '    model_name = "EXTRACT(jsonPayload.modelName)"\n    stage      = "EXTRACT(jsonPayload.stage)"\n') });
  assert.deepEqual(summary(extra), ['logging-metrics.tf resource.google_logging_metric.results label_extractors log-metric']);

  const valueOnCounter = await problemsWith({ 'logging-metrics.tf': (t) => t.replace('  filter      = local.result_log_filter\n', '  filter      = local.result_log_filter\n  value_extractor = "EXTRACT(jsonPayload.pixels)"\n') });
  assert.deepEqual(valueOnCounter.map((p) => [p.address, p.kind]), [['resource.google_logging_metric.results', 'log-metric']]);
});

test('any var.X or local.X that is not declared is reported, wherever it is', async () => {
  const problems = await problemsWith({ 'scheduler.tf': (t) => t.replace('schedule         = var.flush_schedule', 'schedule         = var.flush_cron') });
  assert.deepEqual(summary(problems), ['scheduler.tf resource.google_cloud_scheduler_job.flush schedule undeclared-variable']);
  const local = await problemsWith({ 'monitoring.tf': (t) => t.replace('work_subscription_prefix = local.work_subscription_prefix', 'work_subscription_prefix = local.work_prefix') });
  assert.deepEqual(local.map((p) => p.kind), ['undeclared-local']);
});
