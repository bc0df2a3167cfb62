// When the flush pull loop stops: a pure rule over what the loop has seen so far, so the edges
// (budget reached, message cap reached, enough empty pulls) are table-tested without a clock.

export const STOP_REASONS = ['empty', 'max-messages', 'max-batches', 'time-budget', 'pull-failed'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export interface PullLoopState {
  pulled: number;
  /** Batches released so far in this flush. */
  batches: number;
  consecutiveEmptyPulls: number;
  elapsedMs: number;
}

export interface PullLoopLimits {
  maxMessages: number;
  /** Most batches one flush releases: what the workers can start before the next flush. */
  maxBatches: number;
  emptyPullsToStop: number;
  timeBudgetMs: number;
}

/** The reason to stop before the next pull, or null to pull again. */
export function stopReason(state: PullLoopState, limits: PullLoopLimits): Exclude<StopReason, 'pull-failed'> | null {
  if (state.pulled >= limits.maxMessages) return 'max-messages';
  if (state.batches >= limits.maxBatches) return 'max-batches';
  if (state.consecutiveEmptyPulls >= limits.emptyPullsToStop) return 'empty';
  if (state.elapsedMs >= limits.timeBudgetMs) return 'time-budget';
  return null;
}
