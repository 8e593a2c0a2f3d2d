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

test("a group move moves every held job it names and counts the ones the page never saw", () => {
  const b = new Board();
  b.counts.reset({ ...server, queued: 3, total: 3 });
  b.upsertJob(job("a", "QUEUED", 0, { attempt: 1 }));
  b.upsertJob(job("b", "QUEUED", 1, { attempt: 1 }));
  const unknown = b.applyMoves({ status: "BATCHED", jobIds: ["a", "b", "c"], batchId: "b1", transformJobName: null, updatedAt: `${T}2.000Z` });
  assert.deepEqual(unknown, ["c"]);
  assert.deepEqual([b.jobs.get("a").status, b.jobs.get("a").batchId, b.jobs.get("b").status], ["BATCHED", "b1", "BATCHED"]);
  assert.equal(b.jobs.get("a").payload, undefined); // nothing invented for fields a move does not carry
  assert.deepEqual([b.counts.counts.QUEUED, b.counts.counts.BATCHED, b.counts.counts.ALL], [0, 3, 3]);
  // the same update again (at least once) moves nothing; a late QUEUED one cannot move a job back
  b.applyMoves({ status: "BATCHED", jobIds: ["a", "b", "c"], batchId: "b1", transformJobName: null, updatedAt: `${T}2.000Z` });
  assert.deepEqual([b.counts.counts.QUEUED, b.counts.counts.BATCHED], [0, 3]);
  b.applyMoves({ status: "PROCESSING", jobIds: ["a"], batchId: "b1", transformJobName: "t1", updatedAt: `${T}3.000Z` });
  assert.deepEqual([b.jobs.get("a").status, b.jobs.get("a").transformJobName], ["PROCESSING", "t1"]);
});

test("a QUEUED move of a failed job is its retry: the next attempt, the old error gone", () => {
  const b = new Board();
  b.counts.reset({ ...server, failed: 1, total: 1 });
  b.upsertJob(job("a", "FAILED", 0, { attempt: 1, error: "boom", completedAt: `${T}1.000Z` }));
  b.applyMoves({ status: "QUEUED", jobIds: ["a"], batchId: null, transformJobName: null, updatedAt: `${T}5.000Z` });
  const a = b.jobs.get("a");
  assert.deepEqual([a.status, a.attempt, a.error, a.batchId], ["QUEUED", 2, null, null]);
});
