// Out-of-order and repeated events never move a job or batch back.
import assert from "node:assert/strict";
import { test } from "node:test";

import { mergeBatch, mergeJob, outcome, shortBatchId, shortId, timeToComplete } from "../../../client_examples/dashboard/state.js";

const job = (status, updatedAt, extra = {}) => ({ jobId: "j", status, updatedAt, submittedAt: "2026-01-01T00:00:00.000Z", ...extra });

test("a late PROCESSING event does not undo COMPLETED", () => {
  const done = job("COMPLETED", "2026-01-01T00:00:03.000Z", { result: "setosa" });
  assert.equal(mergeJob(done, job("PROCESSING", "2026-01-01T00:00:02.000Z")), done);
});

test("a forward move replaces the job", () => {
  const next = mergeJob(job("QUEUED", "2026-01-01T00:00:00.000Z"), job("BATCHED", "2026-01-01T00:00:01.000Z", { batchId: "b" }));
  assert.equal(next.status, "BATCHED");
  assert.equal(next.batchId, "b");
});

test("a second terminal status does not replace the first", () => {
  const failed = job("FAILED", "2026-01-01T00:00:03.000Z", { error: "boom" });
  assert.equal(mergeJob(failed, job("COMPLETED", "2026-01-01T00:00:04.000Z")), failed);
});

test("batch counts never go down", () => {
  const b = (status, completedCount, failedCount) => ({ batchId: "b", status, jobCount: 10, completedCount, failedCount });
  const later = b("PROCESSING", 6, 1);
  assert.equal(mergeBatch(later, b("PROCESSING", 3, 0)), later);
  assert.equal(mergeBatch(later, b("BATCHED", 0, 0)), later);
  assert.equal(mergeBatch(later, b("COMPLETED", 9, 1)).completedCount, 9);
});

test("time to complete and outcome read as a user expects", () => {
  const done = job("COMPLETED", "x", { completedAt: "2026-01-01T00:00:01.250Z", result: "0,0.9,0.05,0.05" });
  assert.equal(timeToComplete(done), "1.25 s");
  assert.equal(timeToComplete(job("QUEUED", "x")), "");
  assert.equal(outcome(done), "0,0.9,0.05,0.05");
  assert.equal(outcome(job("FAILED", "x", { error: "no output line" })), "no output line");
});

test("a cancelled job has no time to complete; ids are shortened where they differ", () => {
  assert.equal(timeToComplete(job("CANCELLED", "x", { completedAt: "2026-01-01T00:00:00.020Z" })), "");
  assert.equal(shortId("3f2a9c1e-0000-4000-8000-000000000000"), "3f2a9c1e");
  assert.equal(shortBatchId("20261125-115728-6921af46"), "6921af46");
});

test("a failure shows its reason whole, its path apart", async () => {
  const { failureReason } = await import("../../../client_examples/dashboard/state.js");
  const e = "s3://asyncml-local/data/2026/11/25/b.csv: model answered 500 for line 3 (after 3 retries)";
  assert.deepEqual(failureReason(e), { reason: "model answered 500 for line 3 (after 3 retries)", where: "s3://asyncml-local/data/2026/11/25/b.csv" });
  assert.deepEqual(failureReason("no output line"), { reason: "no output line", where: "" });
  assert.equal(outcome(job("FAILED", "x", { error: e })), "model answered 500 for line 3 (after 3 retries)");
});
