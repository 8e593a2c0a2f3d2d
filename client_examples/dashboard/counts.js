// Totals per status: the server's jobCounts, kept live between reads by applying each job event (pure).

import { JOB_STATUSES } from "./state.js";

const RANK = { QUEUED: 0, BATCHED: 1, PROCESSING: 2, COMPLETED: 3, FAILED: 3, CANCELLED: 3 };
// Where a job we never saw most likely came from; a wrong guess lasts only until the next read.
const CAME_FROM = { BATCHED: "QUEUED", PROCESSING: "BATCHED", COMPLETED: "PROCESSING", FAILED: "PROCESSING", CANCELLED: "QUEUED" };
const MAX_SEEN = 200_000; // statuses remembered, so a repeated event is not counted twice

/** `{QUEUED: n, ..., ALL: total}` from a `JobCounts` answer. */
export function fromServer(jobCounts) {
  const counts = { ALL: jobCounts.total };
  for (const s of JOB_STATUSES) counts[s] = jobCounts[s.toLowerCase()] ?? 0;
  return counts;
}

export class LiveCounts {
  constructor() {
    this.counts = null; // null until the first read: nothing to show but "…"
    this.seen = new Map(); // jobId -> furthest status seen
  }

  /** A fresh read from the server replaces whatever the events made of the last one. */
  reset(jobCounts) {
    this.counts = fromServer(jobCounts);
  }

  /** A job event (or a job read from a list). Returns true when the totals changed. */
  apply(job) {
    const before = this.seen.get(job.jobId);
    if (before !== undefined && RANK[job.status] <= RANK[before]) return false;
    this.remember(job.jobId, job.status);
    if (!this.counts) return false;
    const from = before ?? (job.status === "QUEUED" ? null : CAME_FROM[job.status]);
    if (from === null) this.counts.ALL += 1;
    else this.counts[from] = Math.max(0, this.counts[from] - 1);
    this.counts[job.status] += 1;
    return true;
  }

  /** A job listed from the server is already in its totals: remember it, move nothing. */
  know(job) {
    const before = this.seen.get(job.jobId);
    if (before === undefined || RANK[job.status] > RANK[before]) this.remember(job.jobId, job.status);
  }

  remember(jobId, status) {
    this.seen.delete(jobId);
    this.seen.set(jobId, status);
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.keys().next().value);
  }
}
