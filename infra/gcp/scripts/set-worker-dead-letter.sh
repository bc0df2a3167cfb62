#!/usr/bin/env bash
# Gives the Pub/Sub subscription behind the worker's Eventarc trigger a dead-letter policy, an ack
# deadline above the worker's timeout and retry backoff (run by terraform_data in functions.tf).
set -euo pipefail
: "${PROJECT_ID:?}" "${TRIGGER_REGION:?}" "${TRIGGER:?}" "${DEAD_LETTER_TOPIC:?}"
: "${MAX_DELIVERY_ATTEMPTS:?}" "${ACK_DEADLINE_SECONDS:?}" "${PUBSUB_SERVICE_AGENT:?}"

subscription="$(gcloud eventarc triggers describe "$TRIGGER" --location="$TRIGGER_REGION" \
  --project="$PROJECT_ID" --format='value(transport.pubsub.subscription)')"
if [[ -z "$subscription" ]]; then
  echo "trigger $TRIGGER in $TRIGGER_REGION has no Pub/Sub subscription yet" >&2
  exit 1
fi

# Dead-lettering acks the message on the source subscription as Pub/Sub's service agent.
gcloud pubsub subscriptions add-iam-policy-binding "$subscription" --project="$PROJECT_ID" \
  --member="$PUBSUB_SERVICE_AGENT" --role=roles/pubsub.subscriber --condition=None >/dev/null

gcloud pubsub subscriptions update "$subscription" --project="$PROJECT_ID" \
  --dead-letter-topic="$DEAD_LETTER_TOPIC" \
  --max-delivery-attempts="$MAX_DELIVERY_ATTEMPTS" \
  --ack-deadline="$ACK_DEADLINE_SECONDS" \
  --min-retry-delay=10s --max-retry-delay=600s

echo "dead-letter policy set on $subscription -> $DEAD_LETTER_TOPIC after $MAX_DELIVERY_ATTEMPTS attempts"
