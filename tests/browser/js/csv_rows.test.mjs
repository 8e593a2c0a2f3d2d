// CSV upload: chunks of at most 500, refused rows set aside with their line number and error.
import assert from "node:assert/strict";
import { test } from "node:test";

import { csvRows, refusedIndex, submitRows } from "../../../client_examples/dashboard/csv_rows.js";

test("rows keep their file line numbers; blank lines and an optional header are skipped", () => {
  const rows = csvRows("a,b\r\n1,2\n\n3,4\n", { skipHeader: true });
  assert.deepEqual(rows, [
    { line: 2, payload: "1,2" },
    { line: 4, payload: "3,4" },
  ]);
});

test("the refused input's index comes from the error's field, else its message", () => {
  assert.equal(refusedIndex({ errorInfo: { field: "inputs[7].payload" } }), 7);
  assert.equal(refusedIndex({ message: "inputs[12].payload is not a CSV record" }), 12);
  assert.equal(refusedIndex({ message: "Unauthorized" }), null);
});

test("1200 rows go in chunks of 500, 500, 200", async () => {
  const sizes = [];
  const rows = Array.from({ length: 1200 }, (_, i) => ({ line: i + 1, payload: `${i}` }));
  const { accepted, refused } = await submitRows(rows, async (payloads) => {
    sizes.push(payloads.length);
    return payloads.map((p) => ({ jobId: `job-${p}` }));
  });
  assert.deepEqual(sizes, [500, 500, 200]);
  assert.equal(accepted.length, 1200);
  assert.equal(accepted[1199].job.jobId, "job-1199");
  assert.equal(refused.length, 0);
});

test("a refused row is set aside with its line and error, and the rest of its chunk still goes in", async () => {
  const rows = csvRows("1,2\nbad\n3,4\nworse\n5,6");
  const calls = [];
  const { accepted, refused } = await submitRows(rows, async (payloads) => {
    calls.push(payloads);
    const bad = payloads.findIndex((p) => !p.includes(","));
    if (bad >= 0) {
      const err = new Error("refused");
      err.errors = [{ errorType: "ValidationError", message: `inputs[${bad}].payload has one column` }];
      throw err;
    }
    return payloads.map((p) => ({ jobId: p }));
  });
  assert.deepEqual(accepted.map((a) => a.line), [1, 3, 5]);
  assert.deepEqual(refused.map((r) => [r.line, r.payload, r.error]), [
    [2, "bad", "inputs[1].payload has one column"],
    [4, "worse", "inputs[2].payload has one column"],
  ]);
  assert.equal(calls.length, 3);
});

test("an error about no row in particular refuses the whole chunk with that error", async () => {
  const rows = csvRows("1\n2");
  const { accepted, refused } = await submitRows(rows, async () => {
    const err = new Error("x");
    err.errors = [{ message: "cannot reach http://127.0.0.1:1/graphql" }];
    throw err;
  });
  assert.equal(accepted.length, 0);
  assert.deepEqual(refused.map((r) => r.error), ["cannot reach http://127.0.0.1:1/graphql", "cannot reach http://127.0.0.1:1/graphql"]);
});
