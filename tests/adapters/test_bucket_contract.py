"""Bucket contract: the folder bucket and S3 read and write the same way; the core splits lines."""

from __future__ import annotations

from typing import Any

from asyncml.batch_files import split_lines


def lines(bucket: Any, key: str) -> list[bytes]:
    return list(split_lines(bucket.read_chunks(key)))


def test_put_then_read_streams_the_lines_without_line_ends(bucket: Any) -> None:
    bucket.put("data/2026/11/25/x.csv", b"a,1\nb,2\n")
    assert lines(bucket, "data/2026/11/25/x.csv") == [b"a,1", b"b,2"]
    assert bucket.exists("data/2026/11/25/x.csv")
    assert not bucket.exists("data/2026/11/25/y.csv")


def test_last_line_without_a_newline_is_kept(bucket: Any) -> None:
    bucket.put("result/x.csv.out", b"a,1,setosa\nb,2,virginica")
    assert lines(bucket, "result/x.csv.out") == [b"a,1,setosa", b"b,2,virginica"]


def test_only_a_newline_ends_a_line_and_bytes_come_back_as_they_were(bucket: Any) -> None:
    # A bare CR is data (the emulator splits the same way); CRLF ends a line; bad UTF-8 survives.
    bucket.put("result/y.csv.out", b"a,1,x\ry\r\nb,2,\xe9t\xe9\n")
    assert lines(bucket, "result/y.csv.out") == [b"a,1,x\ry", b"b,2,\xe9t\xe9"]


def test_put_replaces_whole_objects_and_uri_names_the_bucket(bucket: Any) -> None:
    bucket.put("k", b"old\n")
    bucket.put("k", b"new\n")
    assert lines(bucket, "k") == [b"new"]
    assert bucket.uri("data/k") == f"s3://{bucket.name}/data/k"
