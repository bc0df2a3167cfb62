// What Cloud Monitoring would refuse, or silently never match, in infra/gcp's log-based metrics, alert
// policies and dashboards, checked without a cloud: every metric a filter, PromQL query or dashboard
// chart names exists (a system metric of monitoring-catalog.ts or a google_logging_metric defined
// here) on the resource type given, with the labels used; aligners fit the metric; every alert
// threshold is a declared variable; every policy has a runbook; the dashboard template renders to
// JSON with only known fields. Also: every var.X and local.X any block refers to is declared.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HclBody, HclFile } from './load-hcl.js';
import { typedBlocks } from './load-hcl.js';
import {
  alignerProblem, DASHBOARD, promqlName, reducerProblem, RESOURCE_LABELS, SYSTEM_METRICS, USER_METRIC_PREFIX,
  type Enum, type FieldSpec, type ListOf, type MetricInfo,
} from './monitoring-catalog.js';

export interface MonitoringProblem {
  file: string;
  /** `resource.google_x.name`, `variable.x`, or the template file. */
  address: string;
  /** Where inside: `conditions.condition_threshold.filter`, a JSON path, or ''. */
  path: string;
  kind:
    | 'undeclared-variable' | 'undeclared-local' | 'validation-reference' | 'log-metric' | 'unknown-metric' | 'unknown-label'
    | 'resource-type' | 'aggregation' | 'literal-threshold' | 'threshold-variable' | 'documentation' | 'notification-channels'
    | 'template' | 'invalid-json' | 'unknown-field' | 'missing-field' | 'layout' | 'unchecked';
  message: string;
}

type Report = (path: string, kind: MonitoringProblem['kind'], message: string) => void;

interface Module {
  files: HclFile[];
  dir: string;
  variables: Map<string, { file: string; body: HclBody }>;
  locals: Map<string, unknown>;
  /** Log-based metric types (`logging.googleapis.com/user/<name>`) by the Terraform resource name. */
  logMetrics: Map<string, { type: string; info: MetricInfo }>;
}

const bodies = (value: unknown): HclBody[] => (Array.isArray(value) ? (value as HclBody[]) : []);
const first = (value: unknown): HclBody | undefined => bodies(value)[0];

export function checkMonitoring(files: HclFile[], dir: string): MonitoringProblem[] {
  const problems: MonitoringProblem[] = [];
  const mod = readModule(files, dir);
  checkReferences(mod, problems);
  for (const { file, kind, type, name, body } of typedBlocks(files)) {
    const address = `${kind}.${type}.${name}`;
    const report: Report = (path, problemKind, message) => problems.push({ file, address, path, kind: problemKind, message });
    if (type === 'google_logging_metric') checkLogMetric(resolveLocals(mod.locals, String(body.filter ?? '')), body, report);
    if (type === 'google_monitoring_alert_policy') checkAlertPolicy(mod, body, report);
    if (type === 'google_monitoring_dashboard') checkDashboard(mod, file, address, body, problems);
  }
  return problems;
}

function readModule(files: HclFile[], dir: string): Module {
  const variables = new Map<string, { file: string; body: HclBody }>();
  const locals = new Map<string, unknown>();
  for (const { file, json } of files) {
    for (const [name, list] of Object.entries((json.variable ?? {}) as Record<string, HclBody[]>)) variables.set(name, { file, body: list[0]! });
    for (const block of bodies(json.locals)) for (const [name, value] of Object.entries(block)) locals.set(name, value);
  }
  const logMetrics = new Map<string, { type: string; info: MetricInfo }>();
  for (const { type, name, body } of typedBlocks(files)) {
    if (type !== 'google_logging_metric' || typeof body.name !== 'string' || body.name.includes('${')) continue;
    const descriptor = first(body.metric_descriptor);
    logMetrics.set(name, {
      type: `${USER_METRIC_PREFIX}${body.name}`,
      info: {
        kind: (descriptor?.metric_kind as MetricInfo['kind'] | undefined) ?? 'DELTA',
        valueType: (descriptor?.value_type as MetricInfo['valueType'] | undefined) ?? 'INT64',
        // A log-based metric is written against the monitored resource of each matching entry.
        resourceTypes: [...new Set([...resolveLocals(locals, String(body.filter ?? '')).matchAll(/resource\.type\s*=\s*"([^"]+)"/g)].map((m) => m[1]!))],
        labels: Object.keys((body.label_extractors ?? {}) as Record<string, string>),
      },
    });
  }
  return { files, dir, variables, locals, logMetrics };
}

/** Every string in an HCL body, with its dotted path. */
function* strings(value: unknown, path: string[] = []): Generator<[string, string]> {
  if (typeof value === 'string') yield [path.join('.'), value];
  else if (Array.isArray(value)) for (const item of value) yield* strings(item, path);
  else if (value && typeof value === 'object') for (const [key, v] of Object.entries(value)) yield* strings(v, [...path, key]);
}

/** Names after `prefix.` inside the `${...}` expressions of a string. */
function referenced(text: string, prefix: 'var' | 'local'): string[] {
  if (!text.includes('${')) return [];
  return [...text.matchAll(new RegExp(`(?<![\\w.])${prefix}\\.([A-Za-z_][\\w-]*)`, 'g'))].map((m) => m[1]!);
}

function checkReferences(mod: Module, problems: MonitoringProblem[]): void {
  for (const { file, json } of mod.files) {
    for (const [blockKind, value] of Object.entries(json)) {
      for (const [path, text] of strings(value, [blockKind])) {
        // resource.TYPE.NAME / data.TYPE.NAME, else variable.NAME, output.NAME, locals.NAME.
        const segments = path.split('.');
        const n = blockKind === 'resource' || blockKind === 'data' ? 3 : 2;
        const where = { file, address: segments.slice(0, n).join('.'), path: segments.slice(n).join('.') };
        for (const name of referenced(text, 'var')) {
          if (!mod.variables.has(name)) problems.push({ ...where, kind: 'undeclared-variable', message: `var.${name} is not declared (add variable "${name}" to variables.tf)` });
        }
        for (const name of referenced(text, 'local')) {
          if (!mod.locals.has(name)) problems.push({ ...where, kind: 'undeclared-local', message: `local.${name} is not declared` });
        }
      }
    }
  }
  // Terraform < 1.9 (required_version is >= 1.5) lets a validation refer only to its own variable.
  for (const [name, { file, body }] of mod.variables) {
    for (const validation of bodies(body.validation)) {
      for (const other of referenced(String(validation.condition), 'var')) {
        if (other !== name) problems.push({ file, address: `variable.${name}`, path: 'validation.condition', kind: 'validation-reference', message: `the validation of ${name} refers to var.${other}: before Terraform 1.9 it may only refer to var.${name}` });
      }
    }
  }
}

function checkLogMetric(filter: string, body: HclBody, report: Report): void {
  if (typeof body.name !== 'string' || body.name.includes('${')) report('name', 'log-metric', 'the name must be a literal, so charts and alerts can name the metric');
  const descriptor = first(body.metric_descriptor);
  const declared = bodies(descriptor?.labels).map((l) => String(l.key)).sort();
  const extracted = Object.keys((body.label_extractors ?? {}) as Record<string, string>).sort();
  if (declared.join() !== extracted.join()) report('label_extractors', 'log-metric', `label_extractors (${extracted.join(', ')}) must match metric_descriptor.labels (${declared.join(', ')})`);
  for (const [key, extractor] of Object.entries((body.label_extractors ?? {}) as Record<string, string>)) {
    if (!/^(EXTRACT|REGEXP_EXTRACT)\(/.test(extractor)) report(`label_extractors.${key}`, 'log-metric', `${extractor} is not EXTRACT(field) or REGEXP_EXTRACT(field, regex)`);
  }
  const distribution = descriptor?.value_type === 'DISTRIBUTION';
  if (distribution && (!body.value_extractor || !first(body.bucket_options))) report('value_extractor', 'log-metric', 'a DISTRIBUTION metric needs value_extractor and bucket_options');
  if (!distribution && body.value_extractor) report('value_extractor', 'log-metric', 'value_extractor is only for DISTRIBUTION metrics (a counter counts entries)');
  if (!/resource\.type\s*=\s*"/.test(filter)) report('filter', 'log-metric', 'the filter names no resource.type: charts and alerts could not name the resource the metric is written against');
}

/** `${local.x}` replaced by the local's text when it is a string (a heredoc, a template). */
function resolveLocals(locals: Map<string, unknown>, text: string): string {
  let out = text;
  for (let i = 0; i < 5; i++) {
    const next = out.replace(/\$\{local\.([\w-]+)\}/g, (whole, name: string) => (typeof locals.get(name) === 'string' ? (locals.get(name) as string) : whole));
    if (next === out) return out;
    out = next;
  }
  return out;
}

/** resolveLocals, and `${google_logging_metric.x.name}` replaced by the metric's name. */
function resolve(mod: Module, text: string): string {
  let out = text;
  for (let i = 0; i < 5; i++) {
    const next = resolveLocals(mod.locals, out)
      .replace(/\$\{google_logging_metric\.([\w-]+)\.name\}/g, (whole, name: string) => mod.logMetrics.get(name)?.type.slice(USER_METRIC_PREFIX.length) ?? whole);
    if (next === out) return out;
    out = next;
  }
  return out;
}

function metricInfo(mod: Module, type: string): MetricInfo | undefined {
  if (type.startsWith(USER_METRIC_PREFIX)) return [...mod.logMetrics.values()].find((m) => m.type === type)?.info;
  return SYSTEM_METRICS[type];
}

function unknownMetric(mod: Module, type: string): string {
  return type.startsWith(USER_METRIC_PREFIX)
    ? `no google_logging_metric defines ${type} (log-based metrics: ${[...mod.logMetrics.values()].map((m) => m.type).join(', ')})`
    : `${type} is not a metric of monitoring-catalog.ts (add it from Google's metric list if it exists)`;
}

/** A Monitoring filter (`metric.type="..." resource.type="..." metric.label.x=...`): the metric it names. */
function checkFilter(mod: Module, filter: string, path: string, report: Report): MetricInfo | undefined {
  const types = [...filter.matchAll(/metric\.type\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
  if (types.length !== 1) {
    report(path, 'unknown-metric', `a filter names exactly one metric.type="...", this one ${types.length}`);
    return undefined;
  }
  const info = metricInfo(mod, types[0]!);
  if (!info) {
    report(path, 'unknown-metric', unknownMetric(mod, types[0]!));
    return undefined;
  }
  const resourceType = /resource\.type\s*=\s*"([^"]+)"/.exec(filter)?.[1];
  if (!resourceType) report(path, 'resource-type', `name the resource.type (${types[0]} is written against ${info.resourceTypes.join(', ')})`);
  else if (!info.resourceTypes.includes(resourceType)) report(path, 'resource-type', `${types[0]} is written against ${info.resourceTypes.join(', ')}, not ${resourceType}`);
  for (const m of filter.matchAll(/(metric|resource)\.labels?\.(?:"([^"]+)"|([A-Za-z_]\w*))/g)) {
    checkLabel(info, resourceType, m[1] as 'metric' | 'resource', m[2] ?? m[3]!, path, report);
  }
  return info;
}

function checkLabel(info: MetricInfo, resourceType: string | undefined, scope: 'metric' | 'resource', name: string, path: string, report: Report): void {
  const known = scope === 'metric' ? info.labels : (resourceType ? RESOURCE_LABELS[resourceType] : undefined) ?? [];
  if (!known.includes(name)) report(path, 'unknown-label', `${scope} label ${name} does not exist${known.length ? ` (${scope} labels: ${known.join(', ')})` : ` (the ${scope} has no labels)`}`);
}

function checkAggregation(info: MetricInfo, filter: string, aggregation: { aligner?: unknown; reducer?: unknown; groupBy?: unknown }, path: string, report: Report): void {
  if (typeof aggregation.aligner === 'string') {
    const problem = alignerProblem(aggregation.aligner, info);
    if (problem) report(path, 'aggregation', problem);
  }
  if (typeof aggregation.reducer === 'string') {
    const problem = reducerProblem(aggregation.reducer);
    if (problem) report(path, 'aggregation', problem);
  }
  const resourceType = /resource\.type\s*=\s*"([^"]+)"/.exec(filter)?.[1];
  for (const field of Array.isArray(aggregation.groupBy) ? (aggregation.groupBy as string[]) : []) {
    const m = /^(metric|resource)\.labels?\.(?:"([^"]+)"|([A-Za-z_]\w*))$/.exec(field);
    if (!m) report(path, 'unknown-label', `group by ${field}: write metric.label.NAME or resource.label.NAME`);
    else checkLabel(info, resourceType, m[1] as 'metric' | 'resource', m[2] ?? m[3]!, path, report);
  }
}

/** PromQL: every metric name maps to a known metric (distributions only as _sum/_count/_bucket), with known labels. */
function checkPromql(mod: Module, query: string, path: string, report: Report): void {
  const byPromName = new Map<string, { type: string; info: MetricInfo }>();
  const all = [...Object.entries(SYSTEM_METRICS).map(([type, info]) => ({ type, info })), ...mod.logMetrics.values()];
  for (const metric of all) {
    const name = promqlName(metric.type);
    if (metric.info.valueType === 'DISTRIBUTION') for (const suffix of ['_sum', '_count', '_bucket']) byPromName.set(`${name}${suffix}`, metric);
    else byPromName.set(name, metric);
  }
  const labelsUsed: string[] = [];
  for (const selector of query.matchAll(/(?<![\w"])([A-Za-z_]\w*:[\w:]*)\s*(\{([^}]*)\})?/g)) {
    const metric = byPromName.get(selector[1]!);
    if (!metric) {
      report(path, 'unknown-metric', `PromQL metric ${selector[1]} is not a known metric or log-based metric (PromQL names: ${promqlName('logging.googleapis.com/user/NAME')}, with _sum/_count/_bucket for distributions)`);
      continue;
    }
    const matchers = [...(selector[3] ?? '').matchAll(/([A-Za-z_]\w*)\s*(=~|!=|!~|=)\s*"([^"]*)"/g)];
    const resource = matchers.find((m) => m[1] === 'monitored_resource')?.[3];
    // Log-based metrics may be written against any resource that logs, so PromQL needs it named.
    if (!resource && (metric.info.resourceTypes.length > 1 || metric.type.startsWith(USER_METRIC_PREFIX))) {
      report(path, 'resource-type', `${selector[1]}: add monitored_resource="${metric.info.resourceTypes[0] ?? '...'}" (PromQL needs it for log-based metrics and metrics on several resource types)`);
    }
    if (resource && !metric.info.resourceTypes.includes(resource)) report(path, 'resource-type', `${selector[1]} is written against ${metric.info.resourceTypes.join(', ')}, not ${resource}`);
    const resourceType = resource ?? metric.info.resourceTypes[0];
    const known = new Set(['monitored_resource', '__name__', ...metric.info.labels, ...((resourceType && RESOURCE_LABELS[resourceType]) || [])]);
    for (const [, label] of matchers) if (!known.has(label!)) report(path, 'unknown-label', `${selector[1]} has no label ${label} (labels: ${[...known].join(', ')})`);
    labelsUsed.push(...known);
  }
  for (const grouping of query.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of grouping[1]!.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!labelsUsed.includes(label)) report(path, 'unknown-label', `grouping by ${label}, which none of the query's metrics has`);
    }
  }
}

function checkAlertPolicy(mod: Module, body: HclBody, report: Report): void {
  const displayName = String(body.display_name ?? '');
  if (body.notification_channels !== '${var.alert_notification_channels}') report('notification_channels', 'notification-channels', 'notify var.alert_notification_channels, like every other policy');
  const documentation = first(body.documentation);
  if (!documentation?.content) report('documentation', 'documentation', 'add documentation { content = ... } pointing to the runbook');
  else if (!String(documentation.content).includes(displayName)) report('documentation.content', 'documentation', `the documentation should name the runbook heading "${displayName}" (infra/gcp/README.md)`);

  const conditions = bodies(body.conditions);
  if (conditions.length === 0) report('conditions', 'missing-field', 'an alert policy needs a condition');
  conditions.forEach((condition) => {
    const kinds = Object.keys(condition).filter((k) => k.startsWith('condition_'));
    for (const kind of kinds) {
      const spec = first(condition[kind])!;
      const at = (field: string) => `conditions.${kind}.${field}`;
      if (kind === 'condition_threshold') {
        for (const [filterKey, aggKey] of [['filter', 'aggregations'], ['denominator_filter', 'denominator_aggregations']] as const) {
          if (typeof spec[filterKey] !== 'string') continue;
          const filter = resolve(mod, spec[filterKey]);
          const info = checkFilter(mod, filter, at(filterKey), report);
          if (!info) continue;
          for (const agg of bodies(spec[aggKey])) {
            checkAggregation(info, filter, { aligner: agg.per_series_aligner, reducer: agg.cross_series_reducer, groupBy: agg.group_by_fields }, at(aggKey), report);
          }
        }
        checkThreshold(mod, spec.threshold_value, at('threshold_value'), report);
      } else if (kind === 'condition_absent') {
        const info = typeof spec.filter === 'string' ? checkFilter(mod, resolve(mod, spec.filter), at('filter'), report) : undefined;
        if (info) for (const agg of bodies(spec.aggregations)) checkAggregation(info, resolve(mod, String(spec.filter)), { aligner: agg.per_series_aligner, reducer: agg.cross_series_reducer, groupBy: agg.group_by_fields }, at('aggregations'), report);
        checkThreshold(mod, spec.duration, at('duration'), report);
      } else if (kind === 'condition_prometheus_query_language') {
        checkPromql(mod, resolve(mod, String(spec.query ?? '')), at('query'), report);
        checkThreshold(mod, spec.query, at('query'), report);
      } else {
        report(at(''), 'unchecked', `${kind} is not understood by check-monitoring.ts: teach it, or use condition_threshold, condition_absent or condition_prometheus_query_language`);
      }
    }
  });
}

/** A threshold comes from a declared variable with a description (the documented knob), never a literal. */
function checkThreshold(mod: Module, value: unknown, path: string, report: Report): void {
  const names = typeof value === 'string' ? referenced(value, 'var') : [];
  if (names.length === 0) {
    report(path, 'literal-threshold', `${JSON.stringify(value)} is a literal: make the threshold a variable (described, validated) so it can be tuned per deployment`);
    return;
  }
  for (const name of names) {
    const variable = mod.variables.get(name);
    if (variable && (!variable.body.description || bodies(variable.body.validation).length === 0)) report(path, 'threshold-variable', `var.${name} needs a description and a validation`);
  }
}

// --- dashboards ---------------------------------------------------------------------------------

function checkDashboard(mod: Module, file: string, address: string, body: HclBody, problems: MonitoringProblem[]): void {
  const report = (path: string, kind: MonitoringProblem['kind'], message: string, where = file) => problems.push({ file: where, address, path, kind, message });
  const expression = String(body.dashboard_json ?? '');
  const call = /^\$\{templatefile\("\$\{path\.module\}\/([^"]+)", local\.([\w-]+)\)\}$/.exec(expression);
  if (!call) {
    report('dashboard_json', 'unchecked', 'write dashboard_json as templatefile("${path.module}/<file>", local.<vars>), so the dashboard can be checked');
    return;
  }
  const [, template, varsName] = call as unknown as [string, string, string];
  const vars = mod.locals.get(varsName);
  if (!vars || typeof vars !== 'object') {
    report('dashboard_json', 'undeclared-local', `local.${varsName} is not declared as a map`);
    return;
  }
  let text: string;
  try {
    text = readFileSync(join(mod.dir, template), 'utf8');
  } catch {
    report('dashboard_json', 'template', `${template} does not exist`);
    return;
  }
  const rendered = renderTemplate(mod, text, vars as Record<string, unknown>, (message) => report('', 'template', message, template));
  if (rendered === undefined) return;
  let json: unknown;
  try {
    json = JSON.parse(rendered);
  } catch (err) {
    report('', 'invalid-json', `${template} does not render to JSON: ${(err as Error).message}`, template);
    return;
  }
  const jsonReport: Report = (path, kind, message) => report(path, kind, message, template);
  checkFields(json, DASHBOARD, '', jsonReport);
  checkMosaic(json, jsonReport);
  checkQueries(mod, json, '', jsonReport);
}

/**
 * templatefile's rendering, for the parts a JSON template uses: `${name}` from the vars map (a log-based
 * metric's name as itself, anything else as a JSON-safe sample) and `$${` as a literal `${`.
 */
export function renderTemplate(mod: Pick<Module, 'logMetrics' | 'locals'>, text: string, vars: Record<string, unknown>, problem: (message: string) => void): string | undefined {
  if (text.includes('%{')) {
    problem('template directives (%{...}) are not understood by check-monitoring.ts');
    return undefined;
  }
  let ok = true;
  const out = text.replace(/(\$?)\$\{([^}]*)\}/g, (whole, escaped: string, name: string) => {
    if (escaped) return whole.slice(1);
    if (!/^[A-Za-z_]\w*$/.test(name)) {
      problem(`\${${name}}: only plain variable names are checked`);
      ok = false;
      return whole;
    }
    if (!(name in vars)) {
      problem(`\${${name}} is not in the template's vars map (${Object.keys(vars).join(', ')}): templatefile would fail`);
      ok = false;
      return whole;
    }
    const metric = /^\$\{google_logging_metric\.([\w-]+)\.name\}$/.exec(String(vars[name]))?.[1];
    const type = metric ? mod.logMetrics.get(metric)?.type : undefined;
    return type ? type.slice(USER_METRIC_PREFIX.length) : `sample-${name}`;
  });
  return ok ? out : undefined;
}

function isSpec(spec: FieldSpec | ListOf | Enum | true): spec is FieldSpec {
  return spec !== true && 'fields' in spec;
}

/** Unknown keys (the API refuses them), missing required ones, oneofs with zero or several set, enums. */
function checkFields(value: unknown, spec: FieldSpec, path: string, report: Report): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    report(path, 'unknown-field', `${path || 'the dashboard'} must be an object`);
    return;
  }
  const object = value as Record<string, unknown>;
  const at = (key: string) => (path ? `${path}.${key}` : key);
  for (const [key, child] of Object.entries(object)) {
    const fieldSpec = spec.fields[key];
    if (!fieldSpec) {
      report(at(key), 'unknown-field', `${path || 'the dashboard'} has no field ${key} (fields: ${Object.keys(spec.fields).join(', ')})`);
      continue;
    }
    checkValue(child, fieldSpec, at(key), report);
  }
  for (const key of spec.required ?? []) if (!(key in object)) report(at(key), 'missing-field', `${path || 'the dashboard'} needs ${key}`);
  for (const group of spec.exactlyOne ?? []) {
    const set = group.filter((key) => key in object);
    if (set.length !== 1) report(path, 'missing-field', `${path || 'the dashboard'} needs exactly one of ${group.join(', ')}${set.length ? `, not ${set.join(' and ')}` : ''}`);
  }
}

function checkValue(value: unknown, spec: FieldSpec | ListOf | Enum | true, path: string, report: Report): void {
  if (spec === true) return;
  if (isSpec(spec)) return checkFields(value, spec, path, report);
  if ('list' in spec) {
    if (!Array.isArray(value)) return report(path, 'unknown-field', `${path} must be a list`);
    value.forEach((item, i) => checkValue(item, spec.list, `${path}[${i}]`, report));
    return;
  }
  if (typeof value !== 'string' || !spec.enum.includes(value)) report(path, 'unknown-field', `${path} is ${JSON.stringify(value)}, not one of ${spec.enum.join(', ')}`);
}

/** Tiles inside the grid's columns and not on top of each other. */
function checkMosaic(json: unknown, report: Report): void {
  const layout = (json as { mosaicLayout?: { columns?: number; tiles?: { xPos?: number; yPos?: number; width: number; height: number }[] } }).mosaicLayout;
  if (!layout?.tiles) return;
  const columns = layout.columns ?? 12;
  const placed: { x: number; y: number; w: number; h: number; i: number }[] = [];
  layout.tiles.forEach((tile, i) => {
    const t = { x: tile.xPos ?? 0, y: tile.yPos ?? 0, w: tile.width, h: tile.height, i };
    if (t.x < 0 || t.w < 1 || t.x + t.w > columns) report(`mosaicLayout.tiles[${i}]`, 'layout', `the tile spans columns ${t.x}..${t.x + t.w} of ${columns}`);
    const overlap = placed.find((p) => t.x < p.x + p.w && p.x < t.x + t.w && t.y < p.y + p.h && p.y < t.y + t.h);
    if (overlap) report(`mosaicLayout.tiles[${i}]`, 'layout', `the tile overlaps tile ${overlap.i}`);
    placed.push(t);
  });
}

/** Every timeSeriesQuery anywhere in the dashboard: its filter or PromQL query names known metrics. */
function checkQueries(mod: Module, value: unknown, path: string, report: Report): void {
  if (Array.isArray(value)) return value.forEach((item, i) => checkQueries(mod, item, `${path}[${i}]`, report));
  if (!value || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const at = path ? `${path}.${key}` : key;
    if (key !== 'timeSeriesQuery' || !child || typeof child !== 'object') {
      checkQueries(mod, child, at, report);
      continue;
    }
    const query = child as { timeSeriesFilter?: { filter?: string; aggregation?: Record<string, unknown> }; prometheusQuery?: string; timeSeriesQueryLanguage?: string };
    if (typeof query.timeSeriesFilter?.filter === 'string') {
      const filter = query.timeSeriesFilter.filter;
      const info = checkFilter(mod, filter, `${at}.timeSeriesFilter.filter`, report);
      const agg = query.timeSeriesFilter.aggregation;
      if (info && agg) checkAggregation(info, filter, { aligner: agg.perSeriesAligner, reducer: agg.crossSeriesReducer, groupBy: agg.groupByFields }, `${at}.timeSeriesFilter.aggregation`, report);
    } else if (typeof query.prometheusQuery === 'string') {
      checkPromql(mod, query.prometheusQuery, `${at}.prometheusQuery`, report);
    } else if (query.timeSeriesQueryLanguage !== undefined) {
      report(at, 'unchecked', 'MQL (timeSeriesQueryLanguage) is deprecated by Google and not checked: use a filter or PromQL');
    }
  }
}
