"""GET /jobs/<jobId>/result: a result kept in the bucket (too large for the job), with the API key only."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from asyncml import results
from asyncml.local.api.auth import ApiKeyAuth
from asyncml.local.api.downloads import download_routes
from asyncml.ports import Ports
from asyncml.settings import Settings
from tests.unit.test_batch_to_results import seal
from tests.unit.test_result_ends import HUGE, job, write_out

KEY = "da2-downloadtest0000000000000"


def test_a_result_kept_in_the_bucket_downloads_with_the_key(ports: Ports) -> None:
    ids, batch = seal(ports, ["1", "2"])
    results.apply_output(ports, write_out(ports, batch, {0: HUGE, 1: "small"}))
    assert job(ports, ids[0]).result_key is not None
    client = TestClient(Starlette(routes=download_routes(lambda: ports, ApiKeyAuth(KEY))))
    big = client.get(f"/jobs/{ids[0]}/result", headers={"x-api-key": KEY})
    assert big.status_code == 200 and big.text == HUGE
    assert big.headers["content-disposition"] == f'attachment; filename="{ids[0]}.result"'
    assert client.get(f"/jobs/{ids[1]}/result", headers={"x-api-key": KEY}).text == "small"
    assert client.get(f"/jobs/{ids[0]}/result").status_code == 401
    assert client.get(f"/jobs/{ids[0]}/result", headers={"x-api-key": "wrong"}).status_code == 401
    missing = client.get("/jobs/00000000-0000-4000-8000-000000000000/result", headers={"x-api-key": KEY})
    assert missing.status_code == 404


def test_get_job_names_where_a_large_result_is_kept(tmp_path: Path) -> None:
    from asyncml.local.api.server import create_app
    from asyncml.local.wiring import build_runtime

    # Nothing of the runtime's own seals or starts a transform while the test plays the pipeline.
    held = Settings(data_dir=tmp_path, batch_window=300, trigger="schedule", schedule_seconds=3600)
    runtime = build_runtime(held)
    with TestClient(create_app(runtime, KEY)) as client:
        ports = runtime.ports
        ids, batch = seal(ports, ["1"])
        results.apply_output(ports, write_out(ports, batch, {0: HUGE}))
        query = "query($id: ID!) { getJob(jobId: $id) { status result resultKey } }"
        body = {"query": query, "variables": {"id": ids[0]}}
        got = client.post("/graphql", json=body, headers={"x-api-key": KEY}).json()
        assert got["data"]["getJob"] == {
            "status": "COMPLETED",
            "result": None,
            "resultKey": f"job-results/{batch.batch_id}/{ids[0]}",
        }
        assert client.get(f"/jobs/{ids[0]}/result", headers={"x-api-key": KEY}).text == HUGE
