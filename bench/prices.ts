// Published prices the benchmark turns measured seconds into money with: kept in one place, with
// where and when they were read. Cloud Run functions (2nd gen) are billed at Cloud Run's rates.
export const CLOUD_RUN_PRICES = {
  source: 'https://cloud.google.com/run/pricing (Tier 1 regions, CPU allocated during request processing)',
  readOn: '2026-11-30',
  currency: 'USD',
  perVcpuSecond: 0.000024,
  perGibSecond: 0.0000025,
  perMillionRequests: 0.4,
  /** Billable time is rounded up to this per request. */
  roundingMs: 100,
} as const;
