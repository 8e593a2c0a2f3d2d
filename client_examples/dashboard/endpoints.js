// Where the dashboard connects: AppSync's real-time endpoint rules, pure so a test pins them.

// A standard AppSync API host; anything else (a custom domain, the local server) is "custom".
const APPSYNC_HOST = /^[a-z0-9]+\.appsync-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/i;

/**
 * The WebSocket URL for a GraphQL URL.
 * - AppSync: https://X.appsync-api.R.amazonaws.com/graphql -> wss://X.appsync-realtime-api.R.amazonaws.com/graphql
 * - custom domain or local server: <url>/realtime, wss for https and ws for plain http
 *   (Amplify always dials wss; a page served over plain http from asyncml serve needs ws).
 */
export function realtimeUrl(graphqlUrl) {
  const url = new URL(graphqlUrl);
  if (APPSYNC_HOST.test(url.hostname)) {
    const host = url.hostname.replace(".appsync-api.", ".appsync-realtime-api.");
    return `wss://${host}/graphql`;
  }
  const scheme = url.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${url.host}${url.pathname.replace(/\/+$/, "")}/realtime`;
}

/** The API-key auth object AppSync wants at connect and on every `start`: the *API* host, not the realtime one. */
export function apiKeyAuth(graphqlUrl, apiKey) {
  return { host: new URL(graphqlUrl).host, "x-api-key": apiKey };
}

/**
 * The URL to open: auth travels in the query string (browsers cannot set WebSocket headers),
 * as compact JSON in standard base64, not URL-escaped — exactly what gql sends. `payload=e30=` is "{}".
 */
export function connectUrl(graphqlUrl, apiKey) {
  const header = btoa(JSON.stringify(apiKeyAuth(graphqlUrl, apiKey)));
  return `${realtimeUrl(graphqlUrl)}?header=${header}&payload=e30=`;
}

/** Where the local server serves a batch's files (`asyncml serve` only; AppSync has no such route). */
export function downloadUrl(graphqlUrl, batchId, kind) {
  return new URL(`/batches/${encodeURIComponent(batchId)}/${kind}`, graphqlUrl).href;
}

/** The local server's /healthz (queue depth, batch window); null for AppSync, which has none. */
export function healthUrl(graphqlUrl) {
  const url = new URL(graphqlUrl);
  return APPSYNC_HOST.test(url.hostname) ? null : new URL("/healthz", url).href;
}
