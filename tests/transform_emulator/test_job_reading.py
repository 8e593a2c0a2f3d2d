"""[4] transform emulator: what it reads and splits, and how it assembles outputs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.transform_emulator.model_fakes import (
    Script,
    job,
    outputs,
    per_line,
    put,
    run,
)


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
