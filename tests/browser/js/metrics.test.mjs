// Percentiles and the per-interval series the charts draw.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Timeline, percentile } from "../../../client_examples/dashboard/metrics.js";

test("nearest-rank percentiles", () => {
  const ms = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
  assert.equal(percentile(ms, 50), 5);
  assert.equal(percentile(ms, 95), 10);
  assert.equal(percentile([42], 95), 42);
  assert.equal(percentile([], 50), null);
});

test("events per bucket become a rate per second with their p50 and p95", () => {
  const t = new Timeline(1000, 3);
  for (const v of [100, 200, 300, 400]) t.add(10_000, v);
  t.add(11_500, 50);
  const s = t.series(11_900);
  assert.deepEqual(s.map((b) => b.t), [9000, 10_000, 11_000]);
  assert.deepEqual(s.map((b) => b.rate), [0, 4, 1]);
  assert.equal(s[1].p50, 200);
  assert.equal(s[1].p95, 400);
  assert.equal(s[0].p50, null);
});

test("a gauge carries its last reading across quiet buckets; old buckets are dropped", () => {
  const t = new Timeline(1000, 3);
  t.sample(1000, 7);
  t.sample(2000, 500);
  assert.deepEqual(t.series(4000).map((b) => b.last), [500, 500, 500]);
  t.sample(9000, 1);
  assert.equal(t.buckets.has(1), false);
});

test("a chart starts where the data starts, and shows at least a minimum span", async () => {
  const { fromFirstData } = await import("../../../client_examples/dashboard/metrics.js");
  const quiet = { rate: 0, last: null };
  const busy = { rate: 3, last: 1 };
  const s = [quiet, quiet, quiet, quiet, busy, busy];
  assert.equal(fromFirstData(s, 1).length, 2);
  assert.equal(fromFirstData(s, 4).length, 4);
  assert.equal(fromFirstData([quiet, quiet, quiet], 2).length, 2);
});

test("the throughput line is a trailing mean, so one batch finishing is not a spike", async () => {
  const { trailingMean } = await import("../../../client_examples/dashboard/metrics.js");
  assert.deepEqual(trailingMean([0, 10, 0, 0, 5], 2), [0, 5, 5, 0, 2.5]);
  assert.deepEqual(trailingMean([], 3), []);
});
