// The default names of every bucket, topic and subscription: one source of truth shared by the
// code, the local stack and (checked by a test) the Terraform in infra/gcp.
export const RESOURCE_NAMES = {
  inputBucket: 'cloudseg-input',
  outputBucket: 'cloudseg-output',
  uploadsTopic: 'cloudseg-uploads',
  uploadsBufferSubscription: 'cloudseg-uploads-buffer',
  workTopic: 'cloudseg-work',
  resultsTopic: 'cloudseg-results',
  deadLetterTopic: 'cloudseg-dead-letter',
} as const;

/** The environment variable that overrides each name (read only by shared/config). */
export const RESOURCE_ENV = {
  inputBucket: 'CLOUDSEG_INPUT_BUCKET',
  outputBucket: 'CLOUDSEG_OUTPUT_BUCKET',
  uploadsTopic: 'CLOUDSEG_UPLOADS_TOPIC',
  uploadsBufferSubscription: 'CLOUDSEG_UPLOADS_SUBSCRIPTION',
  workTopic: 'CLOUDSEG_WORK_TOPIC',
  resultsTopic: 'CLOUDSEG_RESULTS_TOPIC',
  deadLetterTopic: 'CLOUDSEG_DEAD_LETTER_TOPIC',
} as const satisfies Record<keyof typeof RESOURCE_NAMES, string>;
