// When the flush pull loop stops: a pure rule over what the loop has seen so far, so the edges
// (budget reached, message cap reached, enough empty pulls) are table-tested without a clock.

export const STOP_REASONS = ['empty', 'max-messages', 'time-budget', 'pull-failed'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export interface PullLoopState {
  pulled: number;
  consecutiveEmptyPulls: number;
  elapsedMs: number;
}

export interface PullLoopLimits {
  maxMessages: number;
  emptyPullsToStop: number;
  timeBudgetMs: number;
}

/** The reason to stop before the next pull, or null to pull again. */
export function stopReason(state: PullLoopState, limits: PullLoopLimits): Exclude<StopReason, 'pull-failed'> | null {
  if (state.pulled >= limits.maxMessages) return 'max-messages';
  if (state.consecutiveEmptyPulls >= limits.emptyPullsToStop) return 'empty';
  if (state.elapsedMs >= limits.timeBudgetMs) return 'time-budget';
  return null;
}
