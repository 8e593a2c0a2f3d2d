// Which page the address shows: `#batch=<id>` is a batch's page, anything else the overview (pure).

/** `{ batchId }` from a location hash; other keys (such as `apiKey`) are left to their readers. */
export function parseRoute(hash) {
  const params = new URLSearchParams((hash ?? "").replace(/^#/, ""));
  const batchId = params.get("batch");
  return { batchId: batchId || null };
}

export function batchHref(batchId) {
  return `#batch=${encodeURIComponent(batchId)}`;
}
