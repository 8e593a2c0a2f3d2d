// The totals start from the server's and follow each event once, whatever order events come in.
import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveCounts, fromServer } from "../../../client_examples/dashboard/counts.js";

const server = { queued: 3, batched: 0, processing: 0, completed: 10, failed: 1, cancelled: 0, total: 14 };

test("the server's answer becomes the totals, ALL from total", () => {
  assert.deepEqual(fromServer(server), { ALL: 14, QUEUED: 3, BATCHED: 0, PROCESSING: 0, COMPLETED: 10, FAILED: 1, CANCELLED: 0 });
});

test("a new job adds one; each move shifts one count; a repeat moves nothing", () => {
  const c = new LiveCounts();
  c.reset(server);
  assert.equal(c.apply({ jobId: "a", status: "QUEUED" }), true);
  assert.equal(c.apply({ jobId: "a", status: "QUEUED" }), false);
  c.apply({ jobId: "a", status: "BATCHED" });
  c.apply({ jobId: "a", status: "PROCESSING" });
  c.apply({ jobId: "a", status: "COMPLETED" });
  assert.equal(c.apply({ jobId: "a", status: "PROCESSING" }), false); // late: never back
  assert.deepEqual(c.counts, { ...fromServer(server), ALL: 15, COMPLETED: 11 });
});

test("a job first seen mid-way leaves the status it most likely came from", () => {
  const c = new LiveCounts();
  c.reset(server);
  c.apply({ jobId: "old", status: "BATCHED" }); // was QUEUED on the server
  assert.equal(c.counts.QUEUED, 2);
  assert.equal(c.counts.BATCHED, 1);
  assert.equal(c.counts.ALL, 14);
});

test("listed jobs are known without being counted again, and a re-read replaces drift", () => {
  const c = new LiveCounts();
  c.reset(server);
  c.know({ jobId: "x", status: "COMPLETED" });
  assert.equal(c.apply({ jobId: "x", status: "COMPLETED" }), false);
  c.apply({ jobId: "y", status: "FAILED" });
  c.reset({ ...server, total: 20, queued: 9 });
  assert.equal(c.counts.ALL, 20);
  assert.equal(c.counts.QUEUED, 9);
});

test("before the first read events are remembered but no totals are made up", () => {
  const c = new LiveCounts();
  assert.equal(c.apply({ jobId: "a", status: "QUEUED" }), false);
  assert.equal(c.counts, null);
  c.reset(server);
  assert.equal(c.apply({ jobId: "a", status: "QUEUED" }), false);
});
