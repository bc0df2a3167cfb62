// What Cloud Monitoring accepts, for the parts infra/gcp uses: the system metrics and monitored
// resource types we chart or alert on (from Google's metric and resource lists), the aligners and
// reducers (monitoring v3 Aggregation), and the dashboard JSON fields (monitoring dashboard v1).
// Only what is used is listed; a name outside these tables is reported, so extend them from the docs.

export type MetricKind = 'GAUGE' | 'DELTA' | 'CUMULATIVE';
export type ValueType = 'INT64' | 'DOUBLE' | 'BOOL' | 'DISTRIBUTION';

export interface MetricInfo {
  kind: MetricKind;
  valueType: ValueType;
  /** Monitored resource types the metric is written against. */
  resourceTypes: string[];
  labels: string[];
}

/** Labels of the monitored resource types (cloud.google.com/monitoring/api/resources). */
export const RESOURCE_LABELS: Record<string, string[]> = {
  pubsub_subscription: ['project_id', 'subscription_id'],
  pubsub_topic: ['project_id', 'topic_id'],
  cloud_run_revision: ['project_id', 'service_name', 'revision_name', 'location', 'configuration_name'],
};

/** System metrics (cloud.google.com/monitoring/api/metrics_gcp). */
export const SYSTEM_METRICS: Record<string, MetricInfo> = {
  'pubsub.googleapis.com/subscription/num_undelivered_messages': { kind: 'GAUGE', valueType: 'INT64', resourceTypes: ['pubsub_subscription'], labels: [] },
  'pubsub.googleapis.com/subscription/oldest_unacked_message_age': { kind: 'GAUGE', valueType: 'INT64', resourceTypes: ['pubsub_subscription'], labels: [] },
  'pubsub.googleapis.com/subscription/dead_letter_message_count': { kind: 'DELTA', valueType: 'INT64', resourceTypes: ['pubsub_subscription'], labels: [] },
  'pubsub.googleapis.com/topic/send_request_count': { kind: 'DELTA', valueType: 'INT64', resourceTypes: ['pubsub_topic'], labels: ['response_class', 'response_code'] },
  'run.googleapis.com/container/instance_count': { kind: 'GAUGE', valueType: 'INT64', resourceTypes: ['cloud_run_revision'], labels: ['state'] },
  'run.googleapis.com/request_count': { kind: 'DELTA', valueType: 'INT64', resourceTypes: ['cloud_run_revision'], labels: ['response_code', 'response_code_class', 'route'] },
  'run.googleapis.com/request_latencies': { kind: 'DELTA', valueType: 'DISTRIBUTION', resourceTypes: ['cloud_run_revision'], labels: ['response_code', 'response_code_class', 'route'] },
  // log_entry_count is written against every resource that logs; these are the ones we have.
  'logging.googleapis.com/log_entry_count': { kind: 'DELTA', valueType: 'INT64', resourceTypes: ['cloud_run_revision', 'pubsub_subscription', 'pubsub_topic'], labels: ['log', 'severity'] },
};

/** Log-based metrics are `logging.googleapis.com/user/<name>`, written against the resource of the entry. */
export const USER_METRIC_PREFIX = 'logging.googleapis.com/user/';

export const ALIGNERS = [
  'ALIGN_NONE', 'ALIGN_DELTA', 'ALIGN_RATE', 'ALIGN_INTERPOLATE', 'ALIGN_NEXT_OLDER', 'ALIGN_MIN', 'ALIGN_MAX', 'ALIGN_MEAN',
  'ALIGN_COUNT', 'ALIGN_SUM', 'ALIGN_STDDEV', 'ALIGN_COUNT_TRUE', 'ALIGN_COUNT_FALSE', 'ALIGN_FRACTION_TRUE',
  'ALIGN_PERCENTILE_99', 'ALIGN_PERCENTILE_95', 'ALIGN_PERCENTILE_50', 'ALIGN_PERCENTILE_05', 'ALIGN_PERCENT_CHANGE',
] as const;
export const REDUCERS = [
  'REDUCE_NONE', 'REDUCE_MEAN', 'REDUCE_MIN', 'REDUCE_MAX', 'REDUCE_SUM', 'REDUCE_STDDEV', 'REDUCE_COUNT', 'REDUCE_COUNT_TRUE',
  'REDUCE_COUNT_FALSE', 'REDUCE_FRACTION_TRUE', 'REDUCE_PERCENTILE_99', 'REDUCE_PERCENTILE_95', 'REDUCE_PERCENTILE_50', 'REDUCE_PERCENTILE_05',
] as const;

/** Aligners the API refuses for a metric kind or value type (Aggregation.Aligner docs). */
export function alignerProblem(aligner: string, metric: MetricInfo): string | undefined {
  if (!(ALIGNERS as readonly string[]).includes(aligner)) return `no aligner ${aligner}`;
  if ((aligner === 'ALIGN_DELTA' || aligner === 'ALIGN_RATE') && metric.kind === 'GAUGE') return `${aligner} needs a DELTA or CUMULATIVE metric, this one is a GAUGE`;
  if (aligner === 'ALIGN_SUM' && metric.kind === 'CUMULATIVE') return 'ALIGN_SUM needs a GAUGE or DELTA metric, this one is CUMULATIVE';
  if (aligner.startsWith('ALIGN_PERCENTILE') && metric.valueType !== 'DISTRIBUTION') return `${aligner} needs a DISTRIBUTION metric`;
  if ((aligner === 'ALIGN_MIN' || aligner === 'ALIGN_MAX') && metric.valueType === 'DISTRIBUTION') return `${aligner} needs a numeric metric, this one is a DISTRIBUTION`;
  return undefined;
}

export function reducerProblem(reducer: string): string | undefined {
  return (REDUCERS as readonly string[]).includes(reducer) ? undefined : `no reducer ${reducer}`;
}

/** A metric type as PromQL names it: the first `/` becomes `:`, every other special character `_`. */
export function promqlName(metricType: string): string {
  const slash = metricType.indexOf('/');
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
  return `${clean(metricType.slice(0, slash))}:${clean(metricType.slice(slash + 1))}`;
}

// --- dashboard JSON (monitoring.googleapis.com/v1 Dashboard), the fields infra/gcp can use --------

export interface FieldSpec {
  /** Allowed keys; a spec, `true` for a scalar/free value, or a list of scalars from an enum. */
  fields: Record<string, FieldSpec | ListOf | Enum | true>;
  required?: string[];
  /** Groups of keys of which exactly one must be set (a proto oneof). */
  exactlyOne?: string[][];
}
export interface ListOf {
  list: FieldSpec | true;
}
export interface Enum {
  enum: string[];
}

const AGGREGATION: FieldSpec = {
  fields: { alignmentPeriod: true, perSeriesAligner: { enum: [...ALIGNERS] }, crossSeriesReducer: { enum: [...REDUCERS] }, groupByFields: { list: true } },
};
const TIME_SERIES_FILTER: FieldSpec = {
  fields: { filter: true, aggregation: AGGREGATION, secondaryAggregation: AGGREGATION, pickTimeSeriesFilter: true, statisticalTimeSeriesFilter: true },
  required: ['filter'],
};
const TIME_SERIES_QUERY: FieldSpec = {
  fields: { timeSeriesFilter: TIME_SERIES_FILTER, timeSeriesFilterRatio: true, timeSeriesQueryLanguage: true, prometheusQuery: true, unitOverride: true, outputFullDuration: true },
  exactlyOne: [['timeSeriesFilter', 'timeSeriesFilterRatio', 'timeSeriesQueryLanguage', 'prometheusQuery']],
};
const THRESHOLD: FieldSpec = {
  fields: { label: true, value: true, color: { enum: ['COLOR_UNSPECIFIED', 'YELLOW', 'RED'] }, direction: { enum: ['DIRECTION_UNSPECIFIED', 'ABOVE', 'BELOW'] }, targetAxis: { enum: ['TARGET_AXIS_UNSPECIFIED', 'Y1', 'Y2'] } },
};
const AXIS: FieldSpec = { fields: { label: true, scale: { enum: ['SCALE_UNSPECIFIED', 'LINEAR', 'LOG10'] } } };
const DATA_SET: FieldSpec = {
  fields: {
    timeSeriesQuery: TIME_SERIES_QUERY,
    plotType: { enum: ['PLOT_TYPE_UNSPECIFIED', 'LINE', 'STACKED_AREA', 'STACKED_BAR', 'HEATMAP'] },
    legendTemplate: true,
    minAlignmentPeriod: true,
    targetAxis: { enum: ['TARGET_AXIS_UNSPECIFIED', 'Y1', 'Y2'] },
    breakdowns: true,
    dimensions: true,
    measures: true,
  },
  required: ['timeSeriesQuery'],
};
const XY_CHART: FieldSpec = {
  fields: {
    dataSets: { list: DATA_SET },
    timeshiftDuration: true,
    thresholds: { list: THRESHOLD },
    xAxis: AXIS,
    yAxis: AXIS,
    y2Axis: AXIS,
    chartOptions: { fields: { mode: { enum: ['MODE_UNSPECIFIED', 'COLOR', 'X_RAY', 'STATS'] }, displayHorizontal: true } },
  },
  required: ['dataSets'],
};
const SCORECARD: FieldSpec = {
  fields: {
    timeSeriesQuery: TIME_SERIES_QUERY,
    gaugeView: { fields: { lowerBound: true, upperBound: true } },
    sparkChartView: { fields: { sparkChartType: { enum: ['SPARK_CHART_TYPE_UNSPECIFIED', 'SPARK_LINE', 'SPARK_BAR'] }, minAlignmentPeriod: true }, required: ['sparkChartType'] },
    blankView: true,
    thresholds: { list: THRESHOLD },
  },
  required: ['timeSeriesQuery'],
};
const TIME_SERIES_TABLE: FieldSpec = {
  fields: {
    dataSets: { list: { fields: { timeSeriesQuery: TIME_SERIES_QUERY, tableTemplate: true, minAlignmentPeriod: true, tableDisplayOptions: true }, required: ['timeSeriesQuery'] } },
    metricVisualization: { enum: ['METRIC_VISUALIZATION_UNSPECIFIED', 'NUMBER', 'BAR'] },
    columnSettings: true,
  },
  required: ['dataSets'],
};
const WIDGET_KINDS = ['xyChart', 'scorecard', 'text', 'blank', 'alertChart', 'timeSeriesTable', 'collapsibleGroup', 'logsPanel', 'incidentList', 'pieChart', 'errorReportingPanel', 'sectionHeader', 'singleViewGroup'];
const WIDGET: FieldSpec = {
  fields: {
    title: true,
    id: true,
    ...Object.fromEntries(WIDGET_KINDS.map((kind) => [kind, true as const])),
    xyChart: XY_CHART,
    scorecard: SCORECARD,
    timeSeriesTable: TIME_SERIES_TABLE,
    text: { fields: { content: true, format: { enum: ['FORMAT_UNSPECIFIED', 'MARKDOWN', 'RAW'] }, style: true } },
  },
  exactlyOne: [WIDGET_KINDS],
};
export const DASHBOARD: FieldSpec = {
  fields: {
    name: true,
    displayName: true,
    etag: true,
    labels: true,
    dashboardFilters: true,
    mosaicLayout: { fields: { columns: true, tiles: { list: { fields: { xPos: true, yPos: true, width: true, height: true, widget: WIDGET }, required: ['width', 'height', 'widget'] } } }, required: ['tiles'] },
    gridLayout: true,
    rowLayout: true,
    columnLayout: true,
  },
  required: ['displayName'],
  exactlyOne: [['mosaicLayout', 'gridLayout', 'rowLayout', 'columnLayout']],
};
