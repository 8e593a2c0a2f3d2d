// Job and batch records as the dashboard holds them: merge rules and display formats (pure).

// Events arrive at least once and out of order: a late one must never move a record back.
const JOB_RANK = { QUEUED: 0, BATCHED: 1, PROCESSING: 2, COMPLETED: 3, FAILED: 3, CANCELLED: 3 };
const BATCH_RANK = { BATCHED: 0, PROCESSING: 1, COMPLETED: 2, FAILED: 2 };

export const JOB_STATUSES = ["QUEUED", "BATCHED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"];
export const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

/** The newer of two views of one job, by attempt, then status, then updatedAt. */
export function mergeJob(old, next) {
  if (!old) return next;
  // A retry starts the job again at QUEUED as a new attempt; an event of an older attempt is stale.
  const attempt = (next.attempt ?? 1) - (old.attempt ?? 1);
  if (attempt !== 0) return attempt > 0 ? { ...old, ...next } : old;
  const a = JOB_RANK[old.status] ?? 0;
  const b = JOB_RANK[next.status] ?? 0;
  if (b < a) return old;
  if (b === a && (old.status !== next.status || (next.updatedAt ?? "") < (old.updatedAt ?? ""))) return old;
  return { ...old, ...next };
}

/** The newer of two views of one batch: by status, then by how many records are done. */
export function mergeBatch(old, next) {
  if (!old) return next;
  const a = BATCH_RANK[old.status] ?? 0;
  const b = BATCH_RANK[next.status] ?? 0;
  if (b < a) return old;
  const doneOld = old.completedCount + old.failedCount;
  const doneNext = next.completedCount + next.failedCount;
  if (b === a && doneNext < doneOld) return old;
  return { ...old, ...next };
}

/** A job id (a UUID) is told apart by its start. */
export function shortId(id) {
  return id ? id.slice(0, 8) : "—";
}

/** A batch id starts with its date and time (`20261125-115728-6921af46`): its end tells batches apart. */
export function shortBatchId(id) {
  return id ? id.slice(-8) : "—";
}

/** Local wall-clock time of an AWSDateTime. */
export function clockTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Submitted → completed, for a finished job; "" while it is still on its way. */
export function timeToComplete(job) {
  if (!job.completedAt || job.status === "CANCELLED") return ""; // a cancelled job never ran
  const ms = Date.parse(job.completedAt) - Date.parse(job.submittedAt);
  if (!(ms >= 0)) return "";
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** What the job table shows in its last column. */
export function outcome(job) {
  if (job.error) return failureReason(job.error).reason;
  if (job.result != null) return job.result;
  return "";
}

/**
 * A failure as a person reads it: the reason first and whole; where it happened (an s3:// or
 * file:// path) apart, for the detail view.
 */
export function failureReason(error) {
  if (!error) return { reason: "", where: "" };
  const where = error.match(/\b(?:s3|file):\/\/\S+/)?.[0] ?? "";
  const reason = where ? error.replace(where, "").replace(/^[\s:;,.\-]+|[\s:;,\-]+$/g, "").replace(/\s{2,}/g, " ") : error;
  return { reason: reason || error, where: where.replace(/[:;,.)]+$/, "") };
}
