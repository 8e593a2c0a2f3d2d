"""[4] transform: the Batch Transform emulator against small real model servers on 127.0.0.1."""

from __future__ import annotations

import copy
import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from asyncml.transform_emulator.demo_model import DemoModel, start_demo_model
from asyncml.transform_emulator.errors import InvalidTransformRequest
from asyncml.transform_emulator.job import ProgressEvent, describe_to_json, run_transform_job
from asyncml.transform_emulator.request import container_environment


@dataclass
class Script:
    """What a test model server does; it records what it was asked."""

    respond: Callable[[bytes], bytes] = lambda body: body
    fail_first: int = 0  # answer 500 to the first N invocations
    fail_when: bytes | None = None  # answer 500 to every body holding this
    sleep_s: Callable[[bytes], float] = lambda body: 0.0
    ping_failures: int = 0  # answer 503 to the first N pings (-1: forever)
    execution_parameters: dict[str, Any] | None = None  # None: 404, like a server without the endpoint
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    pings: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one write: otherwise Nagle plus delayed ACKs add 40 ms to every call.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        script = self.server.script  # type: ignore[attr-defined]
        if self.path == "/ping":
            script.pings += 1
            if script.ping_failures:
                script.ping_failures -= script.ping_failures > 0
                return self._send(503)
            return self._send(200)
        if self.path == "/execution-parameters" and script.execution_parameters is not None:
            return self._send(200, json.dumps(script.execution_parameters).encode())
        return self._send(404)

    def do_POST(self) -> None:
        script: Script = self.server.script  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with script.lock:
            script.bodies.append(body)
            script.headers.append(dict(self.headers))
            script.in_flight += 1
            script.max_in_flight = max(script.max_in_flight, script.in_flight)
            failing = script.fail_first > 0 or (script.fail_when is not None and script.fail_when in body)
            script.fail_first -= script.fail_first > 0
        try:
            time.sleep(script.sleep_s(body))
            if failing:
                self._send(500, b"boom")
            else:
                self._send(200, script.respond(body))
        finally:
            with script.lock:
                script.in_flight -= 1


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def model_url(script: Script) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.script = script  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def demo_model() -> Iterator[DemoModel]:
    with start_demo_model() as model:
        yield model


def per_line(fn: Callable[[str], str]) -> Callable[[bytes], bytes]:
    """A model answering one output line per input line."""
    return lambda body: "".join(fn(line) + "\n" for line in body.decode().splitlines()).encode()


BASE: dict[str, Any] = {
    "TransformJobName": "t-1",
    "ModelName": "m",
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
        "ContentType": "text/csv",
        "SplitType": "Line",
    },
    "TransformOutput": {"S3OutputPath": "s3://b/out/", "Accept": "text/csv", "AssembleWith": "Line"},
    "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
}


def job(**top: Any) -> dict[str, Any]:
    request = copy.deepcopy(BASE)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(request.get(key), dict):
            request[key].update(value)
        else:
            request[key] = value
    return request


def put(root: Path, key: str, data: str | bytes) -> None:
    path = root / "b" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def outputs(root: Path) -> dict[str, str]:
    base = root / "b" / "out"
    return {p.relative_to(base).as_posix(): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


async def run(request: dict[str, Any], root: Path, url: str, **kw: Any) -> dict[str, Any]:
    return await run_transform_job(request, bucket_root=root, model_url=url, **kw)


async def test_asyncml_csv_request_keeps_the_input_line_before_the_output(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.respond = per_line(lambda line: "label-" + line.replace(",", "-"))
    put(tmp_path, "in/batch.csv", 'job-1,5.1,3.5\njob-2,"4,9",3.0\n')
    request = job(DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"})
    result = await run(request, tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert script.bodies == [b'5.1,3.5\n"4,9",3.0\n']
    assert script.headers[0]["Content-Type"] == "text/csv" and script.headers[0]["Accept"] == "text/csv"
    assert outputs(tmp_path) == {
        "batch.csv.out": 'job-1,5.1,3.5,label-5.1-3.5\njob-2,"4,9",3.0,label-"4-9"-3.0\n'
    }


async def test_s3_prefix_is_a_raw_string_prefix_and_keeps_relative_paths(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    for key in ("in/in_a.csv", "in/input2/x.csv", "in/other.csv", "inbox.csv"):
        put(tmp_path, key, f"{key}\n")
    request = job(
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/in"}}}
    )
    result = await run(request, tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert outputs(tmp_path) == {"in_a.csv.out": "in/in_a.csv\n", "input2/x.csv.out": "in/input2/x.csv\n"}


async def test_a_uri_naming_one_object_reads_only_it(tmp_path: Path, script: Script, model_url: str) -> None:
    put(tmp_path, "in/x.csv", "1\n")
    put(tmp_path, "in/x.csv.bak", "2\n")
    uri = "s3://b/in/x.csv"
    await run(
        job(TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}),
        tmp_path,
        model_url,
    )
    assert outputs(tmp_path) == {"x.csv.out": "1\n"}


async def test_manifest_entries_are_prefix_plus_path_and_keep_the_path(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    put(tmp_path, "data/2026/11/25/a.csv", "a\n")
    put(tmp_path, "data/2026/11/26/b.csv", "b\n")
    put(tmp_path, "data/2026/11/26/c.csv", "not listed\n")
    put(tmp_path, "m.json", json.dumps([{"prefix": "s3://b/data/"}, "2026/11/25/a.csv", "2026/11/26/b.csv"]))
    source = {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://b/m.json"}}
    result = await run(job(TransformInput={"DataSource": source}), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert outputs(tmp_path) == {"2026/11/25/a.csv.out": "a\n", "2026/11/26/b.csv.out": "b\n"}


async def test_multi_record_fills_mini_batches_up_to_2_pow_20_bytes_per_mb(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    # 3 records of 340,001 bytes (newline included) fit in 2**20 bytes but not in 10**6: pins MB = MiB.
    records = [str(i) * 340_000 for i in range(7)]
    put(tmp_path, "in/big.csv", "".join(r + "\n" for r in records))
    result = await run(job(MaxPayloadInMB=1, BatchStrategy="MultiRecord"), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert [body.count(b"\n") for body in script.bodies] == [3, 3, 1]
    assert all(len(body) <= 2**20 for body in script.bodies)
    assert outputs(tmp_path)["big.csv.out"].split("\n")[:-1] == records


async def test_a_record_over_max_payload_fails_its_file(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    put(tmp_path, "in/huge.csv", "small\n" + "x" * 2**20 + "\n")
    put(tmp_path, "in/ok.csv", "fine\n")
    result = await run(job(MaxPayloadInMB=1), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Failed"
    assert "s3://b/in/huge.csv: ClientError: record 2 is 1048577 bytes" in result["FailureReason"]
    assert outputs(tmp_path) == {"ok.csv.out": "fine\n"}


async def test_single_record_sends_one_record_per_request(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    put(tmp_path, "in/a.csv", "1\n2\n3\n")
    await run(job(BatchStrategy="SingleRecord"), tmp_path, model_url)
    assert script.bodies == [b"1\n", b"2\n", b"3\n"]


async def test_split_none_sends_the_whole_object_and_assemble_none_concatenates_raw(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.respond = lambda body: b"<" + body + b">"
    put(tmp_path, "in/doc.bin", b"\x00\x01 whole\nobject")
    request = job(TransformInput={"SplitType": "None", "ContentType": "application/x-image"})
    request["TransformOutput"] = {"S3OutputPath": "s3://b/out/", "AssembleWith": "None"}
    await run(request, tmp_path, model_url)
    assert script.bodies == [b"\x00\x01 whole\nobject"]
    assert (tmp_path / "b/out/doc.bin.out").read_bytes() == b"<\x00\x01 whole\nobject>"


async def test_assemble_line_adds_a_newline_per_record_but_never_doubles_one(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.respond = lambda body: body.replace(b"\n", b"!\n").rstrip(b"\n")  # last record has no newline
    put(tmp_path, "in/a.csv", "1\n2\n")
    put(tmp_path, "in/b.csv", "3\n")
    await run(job(BatchStrategy="SingleRecord"), tmp_path, model_url)
    assert outputs(tmp_path) == {"a.csv.out": "1!\n2!\n", "b.csv.out": "3!\n"}
    script.respond = lambda body: body  # the answer already ends in a newline
    await run(job(TransformJobName="t-2"), tmp_path, model_url)
    assert outputs(tmp_path)["a.csv.out"] == "1\n2\n"


async def test_assemble_none_with_line_split_concatenates_bodies_without_counting(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    # Pinned choice: with AssembleWith None (and no DataProcessing) outputs are opaque bytes.
    script.respond = lambda body: b'{"n": %d}' % body.count(b"\n")
    put(tmp_path, "in/a.csv", "1\n2\n3\n")
    request = job(BatchStrategy="SingleRecord")
    request["TransformOutput"]["AssembleWith"] = "None"
    assert (await run(request, tmp_path, model_url))["TransformJobStatus"] == "Completed"
    assert outputs(tmp_path) == {"a.csv.out": '{"n": 1}{"n": 1}{"n": 1}'}


async def test_at_most_max_concurrent_transforms_in_flight_and_order_is_kept(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    # Later records answer sooner, so a naive writer would reverse them.
    script.sleep_s = lambda body: 0.02 * (12 - int(body))
    put(tmp_path, "in/a.csv", "".join(f"{i}\n" for i in range(12)))
    request = job(MaxConcurrentTransforms=3, BatchStrategy="SingleRecord")
    result = await run(request, tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert script.max_in_flight == 3
    assert outputs(tmp_path)["a.csv.out"] == "".join(f"{i}\n" for i in range(12))


async def test_a_failing_invocation_is_retried(tmp_path: Path, script: Script, model_url: str) -> None:
    script.fail_first = 2
    put(tmp_path, "in/a.csv", "1\n")
    result = await run(job(ModelClientConfig={"InvocationsMaxRetries": 2}), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert len(script.bodies) == 3


async def test_a_file_failing_after_retries_gets_no_out_but_the_others_do(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.fail_when = b"boom"
    put(tmp_path, "in/a_good.csv", "1\n")
    put(tmp_path, "in/b_bad.csv", "2\nboom\n")
    put(tmp_path, "in/c_good.csv", "3\n")
    result = await run(
        job(BatchStrategy="SingleRecord", ModelClientConfig={"InvocationsMaxRetries": 1}), tmp_path, model_url
    )
    assert result["TransformJobStatus"] == "Failed"
    assert result["FailureReason"].startswith(
        "s3://b/in/b_bad.csv: Bad HTTP status received from algorithm: 500"
    )
    assert script.bodies.count(b"boom\n") == 2  # one try and one retry
    assert outputs(tmp_path) == {"a_good.csv.out": "1\n", "c_good.csv.out": "3\n"}  # no partial file either


async def test_a_timeout_counts_as_a_failure_and_is_retried(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.sleep_s = lambda body: 1.5 if len(script.bodies) == 1 else 0.0
    put(tmp_path, "in/a.csv", "1\n")
    config = {"InvocationsTimeoutInSeconds": 1, "InvocationsMaxRetries": 1}
    result = await run(job(ModelClientConfig=config), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert len(script.bodies) == 2


async def test_a_wrong_record_count_fails_the_file(tmp_path: Path, script: Script, model_url: str) -> None:
    script.respond = lambda body: b"only-one\n"
    put(tmp_path, "in/a.csv", "1\n2\n3\n")
    result = await run(job(), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Failed"
    assert "s3://b/in/a.csv: the model returned 1 records for a mini-batch of 3" in result["FailureReason"]
    assert outputs(tmp_path) == {}


async def test_gzip_input_is_decompressed_before_splitting(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    put(tmp_path, "in/a.csv.gz", gzip.compress(b"1\n2\n"))
    await run(
        job(TransformInput={"CompressionType": "Gzip"}, BatchStrategy="SingleRecord"), tmp_path, model_url
    )
    assert script.bodies == [b"1\n", b"2\n"]
    assert outputs(tmp_path) == {"a.csv.gz.out": "1\n2\n"}


async def test_blank_lines_and_carriage_returns_are_not_sent(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    # Pinned choice (unconfirmed on AWS): a blank line is not a record; "\r\n" ends a line like "\n".
    put(tmp_path, "in/a.csv", "1\r\n\n2\n\n")
    await run(job(), tmp_path, model_url)
    assert script.bodies == [b"1\n2\n"]


async def test_the_model_must_answer_ping_first(tmp_path: Path, script: Script, model_url: str) -> None:
    script.ping_failures = 3
    put(tmp_path, "in/a.csv", "1\n")
    assert (await run(job(), tmp_path, model_url))["TransformJobStatus"] == "Completed"
    assert script.pings == 4
    script.ping_failures = -1
    result = await run(job(TransformJobName="t-2"), tmp_path, model_url, ready_timeout_s=0.3)
    assert result["TransformJobStatus"] == "Failed"
    assert "did not answer GET /ping with 200" in result["FailureReason"]


async def test_execution_parameters_fill_what_the_request_leaves_out(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.execution_parameters = {
        "MaxConcurrentTransforms": 3,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 2,
    }
    put(tmp_path, "in/a.csv", "1\n2\n")
    result = await run(job(), tmp_path, model_url)
    assert (result["MaxConcurrentTransforms"], result["BatchStrategy"], result["MaxPayloadInMB"]) == (
        3,
        "SingleRecord",
        2,
    )
    assert script.bodies == [b"1\n", b"2\n"]
    script.execution_parameters = None  # 404: SageMaker's defaults
    result = await run(job(TransformJobName="t-2"), tmp_path, model_url)
    assert (result["MaxConcurrentTransforms"], result["BatchStrategy"], result["MaxPayloadInMB"]) == (
        1,
        "MultiRecord",
        6,
    )


async def test_a_bad_request_is_refused_before_the_model_is_called(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    with pytest.raises(InvalidTransformRequest) as info:
        await run(job(TransformJobName="bad_name"), tmp_path, model_url)
    assert info.value.field == "TransformJobName"
    assert script.pings == 0


async def test_no_input_objects_fails_the_job(tmp_path: Path, script: Script, model_url: str) -> None:
    result = await run(job(), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Failed"
    assert result["FailureReason"] == "ClientError: no objects found under s3://b/in/"


async def test_the_result_is_shaped_like_describe_transform_job(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    put(tmp_path, "in/a.csv", "1\n")
    result = await run(job(Tags=[{"Key": "k", "Value": "v"}]), tmp_path, model_url)
    assert result["TransformJobArn"] == "arn:aws:sagemaker:local:000000000000:transform-job/t-1"
    assert "FailureReason" not in result and "Tags" not in result
    times = [result[k] for k in ("CreationTime", "TransformStartTime", "TransformEndTime")]
    assert all(isinstance(t, datetime) and t.tzinfo is not None for t in times) and times == sorted(times)
    assert result["TransformInput"]["CompressionType"] == "None"
    as_json = json.loads(json.dumps(describe_to_json(result)))
    assert datetime.fromisoformat(as_json["TransformEndTime"]) == result["TransformEndTime"]


async def test_failure_reason_is_cut_to_1024_characters(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.fail_when = b"x"
    for i in range(30):
        put(tmp_path, f"in/{'long-name-' * 4}{i}.csv", "x\n")
    result = await run(job(ModelClientConfig={"InvocationsMaxRetries": 0}), tmp_path, model_url)
    assert len(result["FailureReason"]) == 1024 and result["FailureReason"].endswith("...")


async def test_progress_reports_files_and_records(tmp_path: Path, script: Script, model_url: str) -> None:
    put(tmp_path, "in/a.csv", "1\n2\n3\n")
    put(tmp_path, "in/b.csv", "4\n")
    events: list[ProgressEvent] = []
    await run(job(BatchStrategy="SingleRecord"), tmp_path, model_url, progress=events.append)
    assert (events[-1].files_done, events[-1].files_total, events[-1].records_done) == (2, 2, 4)


async def test_demo_model_scores_asyncml_csv_batches(tmp_path: Path, demo_model: DemoModel) -> None:
    put(tmp_path, "in/batch.csv", "j1,5.1,3.5,1.4,0.2\nj2,not,a,flower\nj3,6.7,3.0,5.2,2.3\n")
    request = job(DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"})
    result = await run(request, tmp_path, demo_model.url)
    assert result["TransformJobStatus"] == "Completed"
    assert result["MaxConcurrentTransforms"] == 2  # from the demo model's /execution-parameters
    lines = outputs(tmp_path)["batch.csv.out"].splitlines()
    assert lines[0].startswith("j1,5.1,3.5,1.4,0.2,setosa,")
    assert lines[1] == "j2,not,a,flower,ERROR"  # placeholder keeps the lines aligned
    assert lines[2].startswith("j3,6.7,3.0,5.2,2.3,virginica,") and len(lines[2].split(",")) == 9


async def test_demo_model_scores_asyncml_json_lines(tmp_path: Path, demo_model: DemoModel) -> None:
    put(tmp_path, "in/batch.jsonl", '{"asyncmlJobId": "j1", "payload": {"features": [5.1, 3.5, 1.4, 0.2]}}\n')
    request = job(
        TransformInput={"ContentType": "application/jsonlines"},
        TransformOutput={"Accept": "application/jsonlines"},
        DataProcessing={
            "InputFilter": "$.payload",
            "JoinSource": "Input",
            "OutputFilter": "$['asyncmlJobId','SageMakerOutput']",
        },
    )
    result = await run(request, tmp_path, demo_model.url)
    assert result["TransformJobStatus"] == "Completed"
    line = json.loads(outputs(tmp_path)["batch.jsonl.out"])
    assert line["asyncmlJobId"] == "j1" and line["SageMakerOutput"]["label"] == "setosa"
    assert set(line) == {"asyncmlJobId", "SageMakerOutput"}


async def test_split_none_json_document_is_filtered_and_joined_as_one_record(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.respond = lambda body: b'{"sum": %d}' % sum(json.loads(body))
    put(tmp_path, "in/doc.json", '{\n  "id": 7,\n  "features": [1, 2, 3]\n}\n')
    request = job(
        TransformInput={"ContentType": "application/json", "SplitType": "None"},
        TransformOutput={"Accept": "application/json", "AssembleWith": "None"},
        DataProcessing={
            "InputFilter": "$.features",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        },
    )
    assert (await run(request, tmp_path, model_url))["TransformJobStatus"] == "Completed"
    assert script.bodies == [b"[1,2,3]"]
    assert outputs(tmp_path) == {"doc.json.out": '{"id":7,"SageMakerOutput":{"sum":6}}'}


def test_the_demo_model_subprocess_gets_a_containers_environment() -> None:
    env = container_environment(job(BatchStrategy="SingleRecord", Environment={"MODE": "x"}))
    with start_demo_model(environment=env) as model:
        seen = dict(
            item.split("=", 1)
            for item in Path(f"/proc/{model.process.pid}/environ").read_text().split("\0")
            if "=" in item
        )
    assert seen["SAGEMAKER_BATCH"] == "true" and seen["MODE"] == "x"
    assert seen["SAGEMAKER_BATCH_STRATEGY"] == "SINGLE_RECORD"
    assert "SAGEMAKER_MAX_PAYLOAD_IN_MB" not in seen  # only what the request set
