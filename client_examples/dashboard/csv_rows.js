// CSV upload: one payload per line, sent with submitJobs in chunks; refused rows set aside (pure).

export const CHUNK_SIZE = 500; // the API's limit of inputs per submitJobs call

/** Non-blank lines of a file as {line, payload}, `line` counted from 1 as an editor shows it. */
export function csvRows(text, { skipHeader = false } = {}) {
  const rows = [];
  text.split(/\r\n|\n|\r/).forEach((payload, i) => {
    if (skipHeader && i === 0) return;
    if (payload.trim() === "") return;
    rows.push({ line: i + 1, payload });
  });
  return rows;
}

/**
 * Which input of a submitJobs call the server refused. submitJobs is all or nothing and names the
 * first bad input as `inputs[i]…`, in the error's field (errorInfo/extensions) or else its message.
 */
export function refusedIndex(error) {
  const places = [error?.errorInfo?.field, error?.extensions?.field, error?.message];
  for (const text of places) {
    const m = typeof text === "string" && /\binputs\[(\d+)\]/.exec(text);
    if (m) return Number(m[1]);
  }
  return null;
}

/**
 * Submit every row: `submitChunk(payloads)` sends one submitJobs call and returns the jobs, or throws
 * an error carrying `.errors` (the GraphQL errors). A refused row is taken out and the rest of its
 * chunk sent again, so one bad line costs one extra call, not the whole chunk.
 */
export async function submitRows(rows, submitChunk, { chunkSize = CHUNK_SIZE, onProgress = () => {} } = {}) {
  const accepted = [];
  const refused = [];
  for (let start = 0; start < rows.length; start += chunkSize) {
    let pending = rows.slice(start, start + chunkSize);
    while (pending.length) {
      try {
        const jobs = await submitChunk(pending.map((r) => r.payload));
        pending.forEach((row, i) => accepted.push({ ...row, job: jobs[i] }));
        break;
      } catch (err) {
        const first = err?.errors?.[0] ?? err;
        const index = refusedIndex(first);
        if (index === null || index >= pending.length) {
          // Not about one row (network, auth): every row of this chunk failed with it.
          pending.forEach((row) => refused.push({ ...row, error: first?.message ?? String(err) }));
          break;
        }
        refused.push({ ...pending[index], error: first.message });
        pending = pending.filter((_, i) => i !== index);
      }
    }
    onProgress({ accepted: accepted.length, refused: refused.length, total: rows.length });
  }
  return { accepted, refused };
}
