"""appsync/*.js, run in Node with a stand-in for AppSync's `util`: the error shape and pass-through."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.moto_stack import ROOT

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
UTILS = """export const util = {
  error(message, type) { const e = new Error(message); e.errorType = type; throw e; },
};"""
DRIVER = """
import { request, response } from './resolver.mjs';
const cases = JSON.parse(process.argv[2]);
const out = cases.map((ctx) => {
  try { return { request: request(ctx), result: response(ctx) }; }
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
