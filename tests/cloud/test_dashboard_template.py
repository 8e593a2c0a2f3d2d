"""The CloudWatch dashboard in template.yaml charts the figures /metrics gives locally, and only
metrics something emits (a chart of a metric nobody sends stays blank forever)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.moto_stack import ROOT, template

EMITTERS = ["asyncml", "resolvers", "workers"]


def dashboard_metrics() -> list[list[Any]]:
    resource = template()["Resources"]["Dashboard"]
    assert resource["Type"] == "AWS::CloudWatch::Dashboard"
    sub = resource["Properties"]["DashboardBody"]  # !Sub [body, {variables}]
    sub = sub.get("Fn::Sub", sub) if isinstance(sub, dict) else sub
    body = json.loads(sub[0])
    rows: list[list[Any]] = []
    for widget in body["widgets"]:
        last: list[Any] = []
        for row in widget["properties"]["metrics"]:
            # CloudWatch's shorthand: "." repeats the field above, "..." the leading ones.
            plain = [x for x in row if not isinstance(x, dict)]
            if plain and plain[0] == "...":
                plain = last[: len(last) - len(plain) + 1] + plain[1:]
            plain = [last[i] if x == "." else x for i, x in enumerate(plain)]
            rows.append(plain)
            last = plain
    return rows


def test_the_dashboard_charts_jobs_latency_queue_batches_subscribers_and_errors() -> None:
    names = {(row[0], row[1]) for row in dashboard_metrics()}
    for namespace, name in [
        ("asyncml", "JobsSubmitted"),
        ("asyncml", "RecordsCompleted"),
        ("asyncml", "RecordsFailed"),
        ("asyncml", "SubmitToCompleteLatency"),
        ("asyncml", "BatchSize"),
        ("asyncml", "BatchDuration"),
        ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
        ("AWS/AppSync", "ActiveSubscriptions"),
        ("AWS/Lambda", "Errors"),
    ]:
        assert (namespace, name) in names, name


def test_every_asyncml_metric_on_the_dashboard_is_emitted_by_the_code() -> None:
    code = "\n".join(p.read_text() for d in EMITTERS for p in (ROOT / d).rglob("*.py"))
    emitted = set(re.findall(r'add_metric\(\s*"(\w+)"', code))
    charted = {row[1] for row in dashboard_metrics() if row[0] == "asyncml"}
    assert charted <= emitted, charted - emitted
