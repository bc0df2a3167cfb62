// How the Cloud SDK (`gcloud storage`) reaches the local GCS server: environment variables for its
// properties, so `npm run local` can print them and the gcloud test uses exactly what it prints.

/**
 * CLOUDSDK_* variables override gcloud properties for one shell without touching its config:
 * `api_endpoint_overrides/storage` sends the JSON API to this server (gcloud appends `b/...` to it,
 * and plain http is fine), `auth/disable_credentials` stops it from wanting a login.
 */
export function cloudSdkEnv(gcsUrl: string, projectId: string): Record<string, string> {
  return {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: `${gcsUrl}/storage/v1/`,
    CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
    CLOUDSDK_CORE_PROJECT: projectId,
  };
}

/**
 * gsutil builds its JSON API URLs as `https://` + boto's `gs_json_host`/`gs_json_port`, with no way
 * to say http: it needs a TLS proxy in front of this server whose certificate boto trusts.
 */
export function gsutilNote(gcsUrl: string): string {
  const port = new URL(gcsUrl).port;
  return `gsutil speaks only https to a JSON endpoint: put a TLS proxy in front of ${gcsUrl} and set, in a BOTO_CONFIG file, [Credentials] gs_json_host=127.0.0.1 gs_json_port=<proxy port> and [Boto] ca_certificates_file=<the proxy's CA> (this server itself is on port ${port}); gcloud storage needs none of that`;
}
