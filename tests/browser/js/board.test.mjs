// What the page holds: events and reads merged once, totals and charts moved only by live events.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Board, inView } from "../../../client_examples/dashboard/board.js";

const T = "2026-01-01T00:00:0";
const job = (jobId, status, s, extra = {}) => ({ jobId, status, submittedAt: `${T}${s}.000Z`, updatedAt: `${T}${s}.000Z`, ...extra });
const server = { queued: 0, batched: 0, processing: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };

test("a job's live moves shift the totals and chart one finish, however often they repeat", () => {
  const b = new Board();
  b.counts.reset(server);
  const at0 = { submittedAt: `${T}0.000Z` };
  b.upsertJob(job("a", "QUEUED", 0), { live: true });
  b.upsertJob(job("a", "PROCESSING", 1, at0), { live: true });
  const done = job("a", "COMPLETED", 2, { ...at0, completedAt: `${T}3.500Z` });
  b.upsertJob(done, { live: true });
  b.upsertJob(done, { live: true });
  assert.equal(b.counts.counts.COMPLETED, 1);
  assert.equal(b.counts.counts.ALL, 1);
  const finished = [...b.done.buckets.values()];
  assert.deepEqual(finished.map((x) => [x.n, x.values]), [[1, [3500]]]);
});

test("a job read from a list is held but moves no total", () => {
  const b = new Board();
  b.counts.reset({ ...server, completed: 1, total: 1 });
  b.upsertJob(job("a", "COMPLETED", 0, { completedAt: `${T}1.000Z` }));
  assert.equal(b.counts.counts.ALL, 1);
  assert.equal(b.done.buckets.size, 0);
  assert.deepEqual([...b.dirty.fresh], ["a"]);
});

test("past the limit the oldest jobs are forgotten, newest kept in order", () => {
  const b = new Board();
  for (const [id, s] of [["x", 2], ["y", 0], ["z", 1]]) b.upsertJob(job(id, "QUEUED", s));
  const { ids, dropped } = b.sortedJobs(2);
  assert.deepEqual(ids, ["x", "z"]);
  assert.deepEqual(dropped, ["y"]);
  assert.equal(b.jobs.has("y"), false);
});

test("a view is a status filter and maybe one batch", () => {
  const j = job("a", "FAILED", 0, { batchId: "b1" });
  assert.equal(inView(j, { filter: "ALL", batchId: null }), true);
  assert.equal(inView(j, { filter: "FAILED", batchId: "b1" }), true);
  assert.equal(inView(j, { filter: "COMPLETED", batchId: null }), false);
  assert.equal(inView(j, { filter: "ALL", batchId: "b2" }), false);
});
