// Paging past the first rows, and late pages of a view the user has left.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Pager } from "../../../client_examples/dashboard/paging.js";
import { batchHref, parseRoute } from "../../../client_examples/dashboard/route.js";

const pages = { null: { items: [1, 2], nextToken: "t2" }, t2: { items: [3], nextToken: null } };

test("pages follow nextToken to the end, then stop asking", async () => {
  const asked = [];
  const pager = new Pager(async (view, token) => (asked.push([view, token]), pages[token]));
  assert.deepEqual(await pager.reset("ALL"), [1, 2]);
  assert.deepEqual(await pager.more(), [3]);
  assert.equal(pager.done, true);
  assert.equal(await pager.more(), null);
  assert.deepEqual(asked, [["ALL", null], ["ALL", "t2"]]);
});

test("a page that arrives after the view changed is dropped", async () => {
  let release;
  const slow = new Promise((r) => (release = r));
  const pager = new Pager(async (view) => (view === "old" ? (await slow, { items: ["stale"], nextToken: "x" }) : { items: ["new"], nextToken: null }));
  const late = pager.reset("old");
  assert.deepEqual(await pager.reset("new"), ["new"]);
  release();
  assert.equal(await late, null);
  assert.equal(pager.done, true);
});

test("the batch route is read from the hash beside other keys", () => {
  assert.deepEqual(parseRoute("#batch=20261125-115728-6921af46"), { batchId: "20261125-115728-6921af46" });
  assert.deepEqual(parseRoute("#apiKey=da2-x&batch=b1"), { batchId: "b1" });
  assert.deepEqual(parseRoute(""), { batchId: null });
  assert.equal(parseRoute(batchHref("a b")).batchId, "a b");
});
