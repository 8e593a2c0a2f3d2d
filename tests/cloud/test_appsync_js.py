"""appsync/*.js, run in Node with a stand-in for AppSync's `util`: the error shape, pass-through, and
onJobsMoved's enhanced filter (evaluated here the way AppSync's docs define its operators)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.moto_stack import ROOT

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
# util.transform.toSubscriptionFilter as documented: {field: {operator: value}, ...} becomes one
# filter group whose filters must all hold.
UTILS = """export const util = {
  error(message, type) { const e = new Error(message); e.errorType = type; throw e; },
  transform: {
    toSubscriptionFilter(obj) {
      const filters = Object.entries(obj).flatMap(([fieldName, ops]) =>
        Object.entries(ops).map(([operator, value]) => ({ fieldName, operator, value })));
      return { filterGroup: [{ filters }] };
    },
  },
};
export const extensions = {
  setSubscriptionFilter(filter) { globalThis.subscriptionFilter = filter; },
};"""
DRIVER = """
import { request, response } from './resolver.mjs';
const cases = JSON.parse(process.argv[2]);
const out = cases.map((ctx) => {
  globalThis.subscriptionFilter = undefined;
  try {
    const answer = { request: request(ctx), result: response(ctx) };
    if (globalThis.subscriptionFilter !== undefined) answer.filter = globalThis.subscriptionFilter;
    return answer;
  }
  catch (e) { return { error: { message: e.message, errorType: e.errorType } }; }
});
console.log(JSON.stringify(out));
"""


def run(tmp_path: Path, name: str, cases: list[dict[str, object]]) -> list[dict[str, object]]:
    pkg = tmp_path / "node_modules" / "@aws-appsync" / "utils"
    pkg.mkdir(parents=True)
    (pkg / "package.json").write_text('{"name": "@aws-appsync/utils", "type": "module", "main": "index.js"}')
    (pkg / "index.js").write_text(UTILS)
    shutil.copy(ROOT / "appsync" / name, tmp_path / "resolver.mjs")
    (tmp_path / "driver.mjs").write_text(DRIVER)
    done = subprocess.run(["node", "driver.mjs", json.dumps(cases)], cwd=tmp_path, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: list[dict[str, object]] = json.loads(done.stdout)
    return answer


def test_invoke_sends_a_direct_resolver_event_and_raises_domain_errors(tmp_path: Path) -> None:
    info = {"fieldName": "cancelJob", "parentTypeName": "Mutation"}
    ctx = {"arguments": {"jobId": "j"}, "identity": None, "source": None, "request": {"headers": {}},
           "info": info, "prev": None, "stash": {}}  # fmt: skip
    refused = {**ctx, "result": {"errorType": "Conflict", "errorMessage": "jobId 'j' is COMPLETED"}}
    crashed = {**ctx, "error": {"message": "boom", "type": "Lambda:Unhandled"}}
    ok = {**ctx, "result": {"jobId": "j", "status": "CANCELLED"}}
    got = run(tmp_path, "invoke_lambda.js", [refused, crashed, ok])
    assert got[0] == {"error": {"message": "jobId 'j' is COMPLETED", "errorType": "Conflict"}}
    assert got[1] == {"error": {"message": "boom", "errorType": "Lambda:Unhandled"}}
    assert got[2]["result"] == {"jobId": "j", "status": "CANCELLED"}
    payload = got[2]["request"]["payload"]  # type: ignore[index]
    assert got[2]["request"]["operation"] == "Invoke"  # type: ignore[index]
    assert set(payload) == {"arguments", "identity", "source", "request", "info", "prev", "stash"}


def test_publish_passes_the_update_through_as_the_result(tmp_path: Path) -> None:
    update = {"jobId": "j", "status": "COMPLETED"}
    got = run(tmp_path, "publish.js", [{"args": {"update": update}, "result": update}])
    assert got == [{"request": {"payload": update}, "result": update}]


def delivered(answer: dict[str, object], update: dict[str, object]) -> bool:
    """AppSync's evaluation of a resolver's filter: any group may match, every filter of a group must.
    `contains` on a list field holds when the value is one of its items; `eq` is equality. With no
    filter set, AppSync falls back to argument filtering, and a subscription without arguments gets
    every update."""
    filter_ = answer.get("filter")
    if filter_ is None:
        return True
    groups = filter_["filterGroup"]  # type: ignore[index]

    def holds(f: dict[str, object]) -> bool:
        value = update.get(str(f["fieldName"]))
        if f["operator"] == "contains":
            return isinstance(value, list) and f["value"] in value
        assert f["operator"] == "eq", f
        return bool(value == f["value"])

    return any(all(holds(f) for f in g["filters"]) for g in groups)  # type: ignore[index, union-attr]


def test_on_jobs_moved_filters_on_jobids_containing_the_watched_job(tmp_path: Path) -> None:
    """The decision pinned: jobId -> `jobIds contains`, batchId and status -> `eq`, nothing else (the
    arguments are not matched as fields once a filter is set, and JobsMoved has no jobId field)."""
    args = [{"jobId": "j2"}, {"batchId": "b1", "status": "PROCESSING"}, {"jobId": "j2", "status": "BATCHED"},
            {}, {"jobId": None, "batchId": None, "status": None}]  # fmt: skip
    got = run(tmp_path, "on_jobs_moved.js", [{"args": a, "arguments": a} for a in args])
    assert all(g["request"] == {"payload": None} and g["result"] is None for g in got)
    assert got[0]["filter"] == {"filterGroup": [{"filters": [
        {"fieldName": "jobIds", "operator": "contains", "value": "j2"}]}]}  # fmt: skip
    assert "filter" not in got[3] and "filter" not in got[4]  # no argument: every update
    batched = {"status": "BATCHED", "jobIds": ["j1", "j2", "j3"], "batchId": "b1", "transformJobName": None}
    processing = {**batched, "status": "PROCESSING", "jobIds": ["j1", "j3"], "transformJobName": "t"}
    other = {**batched, "jobIds": ["j22"], "batchId": "b2"}  # "j2" is a substring of an id, not an id
    seen = [[delivered(g, u) for u in (batched, processing, other)] for g in got]
    assert seen == [
        [True, False, False],
        [False, True, False],
        [True, False, False],
        [True, True, True],
        [True, True, True],
    ]
