// A retried job starts again at QUEUED as a new attempt; events of the older attempt are stale.
import assert from "node:assert/strict";
import { test } from "node:test";

import { mergeJob } from "../../../client_examples/dashboard/state.js";

const job = (status, attempt, extra = {}) => ({ jobId: "j", status, attempt, updatedAt: "2026-01-01T00:00:00.000Z", ...extra });

test("a new attempt replaces a FAILED job, its old error gone", () => {
  const failed = job("FAILED", 1, { error: "ERROR" });
  const next = mergeJob(failed, job("QUEUED", 2, { error: null }));
  assert.equal(next.status, "QUEUED");
  assert.equal(next.attempt, 2);
  assert.equal(next.error, null);
});

test("a late event of the older attempt does not undo the new one", () => {
  const queued = job("QUEUED", 2);
  assert.equal(mergeJob(queued, job("FAILED", 1, { error: "ERROR" })), queued);
});

test("within one attempt the status still only climbs", () => {
  const done = job("COMPLETED", 2);
  assert.equal(mergeJob(done, job("PROCESSING", 2)), done);
});

test("a job from before retryJobs (no attempt) counts as attempt 1", () => {
  const old = { jobId: "j", status: "FAILED", updatedAt: "2026-01-01T00:00:00.000Z" };
  assert.equal(mergeJob(old, job("QUEUED", 2)).status, "QUEUED");
});
