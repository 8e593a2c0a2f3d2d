"""Bucket contract: the folder bucket and S3 read and write the same way."""

from __future__ import annotations

from typing import Any


def test_put_then_read_lines_streams_without_line_ends(bucket: Any) -> None:
    bucket.put("data/2026/11/25/x.csv", b"a,1\nb,2\n")
    assert list(bucket.read_lines("data/2026/11/25/x.csv")) == ["a,1", "b,2"]
    assert bucket.exists("data/2026/11/25/x.csv")
    assert not bucket.exists("data/2026/11/25/y.csv")


def test_last_line_without_a_newline_is_kept(bucket: Any) -> None:
    bucket.put("result/x.csv.out", b"a,1,setosa\nb,2,virginica")
    assert list(bucket.read_lines("result/x.csv.out")) == ["a,1,setosa", "b,2,virginica"]


def test_put_replaces_whole_objects_and_uri_names_the_bucket(bucket: Any) -> None:
    bucket.put("k", b"old\n")
    bucket.put("k", b"new\n")
    assert list(bucket.read_lines("k")) == ["new"]
    assert bucket.uri("data/k") == f"s3://{bucket.name}/data/k"
