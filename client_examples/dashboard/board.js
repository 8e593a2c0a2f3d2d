// What the page holds: jobs and batches merged from events and reads, the live totals, the finished
// jobs for the charts, and which records changed since the last paint. No DOM here (node tests it).

import { LiveCounts } from "./counts.js";
import { Timeline } from "./metrics.js";
import { TERMINAL, mergeBatch, mergeJob } from "./state.js";

export const newestFirst = (a, b) => (a < b ? 1 : a > b ? -1 : 0);

/** Whether a job belongs in the table of a view: a status filter ("ALL" or one), maybe one batch. */
export function inView(job, { filter, batchId }) {
  return (filter === "ALL" || job.status === filter) && (!batchId || job.batchId === batchId);
}

export class Board {
  constructor() {
    this.jobs = new Map(); // jobId -> job
    this.batches = new Map(); // batchId -> batch
    this.counts = new LiveCounts();
    this.done = new Timeline(2000, 150); // finished jobs with their time to complete: 5 minutes
    this.uploadOf = new Map(); // jobId -> the CSV upload it came from
    this.dirty = { jobs: new Set(), fresh: new Set(), batches: new Set(), batchOrder: false, uploads: false };
  }

  /** `live`: an event or our own submit, which moves the totals; otherwise a read, already in them. */
  upsertJob(job, { live = false } = {}) {
    const old = this.jobs.get(job.jobId);
    const merged = mergeJob(old, job);
    if (live) this.counts.apply(job);
    else this.counts.know(job);
    const finished = TERMINAL.has(merged.status) && merged.status !== "CANCELLED";
    if (live && merged !== old && finished && !TERMINAL.has(old?.status)) {
      // Charted by when the server finished it, not when the event arrived: a page that fell
      // behind in a burst still draws the real throughput.
      const doneAt = Date.parse(merged.completedAt);
      const ms = doneAt - Date.parse(merged.submittedAt);
      this.done.add(Number.isFinite(doneAt) ? doneAt : Date.now(), ms >= 0 ? ms : null);
    }
    if (!old) this.dirty.fresh.add(job.jobId);
    this.jobs.set(job.jobId, merged);
    this.dirty.jobs.add(job.jobId);
    const upload = this.uploadOf.get(job.jobId);
    if (upload) {
      upload.statuses.set(job.jobId, merged.status);
      this.dirty.uploads = true;
    }
    return merged;
  }

  /**
   * A JobsMoved update (many jobs to one status at once): an end's jobs come whole and are taken as
   * they are; for the rest each job held moves, the totals move for every job named. Returns the
   * ids to read later: those the page does not hold, and ends too large to come whole.
   */
  applyMoves(moved) {
    const unknown = [];
    const whole = new Map((moved.jobs ?? []).map((job) => [job.jobId, job]));
    for (const jobId of moved.jobIds) {
      const job = whole.get(jobId);
      if (job) {
        this.upsertJob(job, { live: true });
        continue;
      }
      const old = this.jobs.get(jobId);
      const step = { jobId, status: moved.status, updatedAt: moved.updatedAt };
      if (!old) {
        this.counts.apply(step);
        unknown.push(jobId);
        continue;
      }
      // A QUEUED move of a job that had ended is a retry: its next attempt, the old outcome gone.
      const retried = moved.status === "QUEUED" && TERMINAL.has(old.status);
      const attempt = (old.attempt ?? 1) + (retried ? 1 : 0);
      const fields = retried ? { result: null, error: null, completedAt: null } : {};
      this.upsertJob({ ...step, ...fields, attempt, batchId: moved.batchId, transformJobName: moved.transformJobName }, { live: true });
      if (TERMINAL.has(moved.status)) unknown.push(jobId); // named only: read it whole
    }
    return unknown;
  }

  upsertBatch(batch) {
    if (!this.batches.has(batch.batchId)) this.dirty.batchOrder = true;
    this.batches.set(batch.batchId, mergeBatch(this.batches.get(batch.batchId), batch));
    this.dirty.batches.add(batch.batchId);
  }

  /** Job ids newest first; past `max` the oldest are forgotten and returned apart. */
  sortedJobs(max) {
    const ids = [...this.jobs.keys()].sort((a, b) => newestFirst(this.jobs.get(a).submittedAt, this.jobs.get(b).submittedAt));
    const dropped = ids.splice(max);
    for (const id of dropped) this.jobs.delete(id);
    return { ids, dropped };
  }

  sortedBatches(max) {
    const ids = [...this.batches.keys()].sort((a, b) => newestFirst(this.batches.get(a).createdAt, this.batches.get(b).createdAt));
    const dropped = ids.splice(max);
    for (const id of dropped) this.batches.delete(id);
    return { ids, dropped };
  }

  clearDirty() {
    this.dirty.jobs.clear();
    this.dirty.fresh.clear();
    this.dirty.batches.clear();
    this.dirty.batchOrder = this.dirty.uploads = false;
  }
}
