"""jobCounts through the AppSync resolver under moto: totals per status from the table itself."""

from __future__ import annotations

import pytest

from resolvers import api
from tests.cloud_harness import Cloud, LambdaContext, appsync_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")
CTX = LambdaContext()


def test_job_counts_answers_every_status_and_the_total(aws: Cloud) -> None:
    inputs = [{"payload": f"{i},1"} for i in range(3)]
    jobs = api.lambda_handler(appsync_event("submitJobs", "Mutation", {"inputs": inputs}), CTX)
    api.lambda_handler(appsync_event("cancelJob", "Mutation", {"jobId": jobs[0]["jobId"]}), CTX)
    counts = api.lambda_handler(appsync_event("jobCounts", "Query", {}), CTX)
    assert counts == {"queued": 2, "batched": 0, "processing": 0, "completed": 0, "failed": 0,
                      "cancelled": 1, "total": 3}  # fmt: skip
