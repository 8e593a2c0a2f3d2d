"""[4] transform: DataProcessing filters and joins, as the SageMaker developer guide describes them."""

from __future__ import annotations

import time

import pytest

from asyncml.transform_emulator.data_processing import RecordProcessor, build_processor, split_csv
from asyncml.transform_emulator.jsonpath import DataProcessingError, FilterSyntaxError, parse_path, select


def csv(input_filter: str = "$", join: str = "None", output_filter: str = "$") -> RecordProcessor:
    return build_processor("text/csv", input_filter, join, output_filter)


def jsonl(input_filter: str = "$", join: str = "None", output_filter: str = "$") -> RecordProcessor:
    return build_processor("application/jsonlines", input_filter, join, output_filter)


ROW = list("abcdefg")


@pytest.mark.parametrize(
    ("path", "picked"),
    [
        ("$", ROW),
        ("$[0]", "a"),
        ("$[-1]", "g"),
        ("$[0,-1]", ["a", "g"]),
        ("$[2:]", list("cdefg")),
        ("$[0,5:]", ["a", "f", "g"]),
        ("$[*]", ROW),
    ],
)
def test_index_paths_pick_columns(path: str, picked: object) -> None:
    assert select(ROW, parse_path(path)) == picked


def test_slice_end_is_inclusive_as_the_guide_says_unconfirmed_on_aws() -> None:
    # Guide: "$[1:4]" = 2nd to 5th column, "$[:5]" = 1st to 6th. Not Python's rule; pinned here.
    assert select(ROW, parse_path("$[1:4]")) == ["b", "c", "d", "e"]
    assert select(ROW, parse_path("$[:5]")) == list("abcdef")
    assert select(ROW, parse_path("$[0:-2]")) == list("abcdef")


def test_name_paths_on_json() -> None:
    record = {"id": 7, "payload": {"features": [1, 2]}, "x": [{"k": 1}, {"k": 2}]}
    assert select(record, parse_path("$.payload.features")) == [1, 2]
    assert select(record, parse_path("$['payload']")) == {"features": [1, 2]}
    assert select(record, parse_path("$['id','payload']")) == {"id": 7, "payload": {"features": [1, 2]}}
    assert select(record, parse_path("$.x[*].k")) == [1, 2]
    assert select(record, parse_path("$.x[-1]")) == {"k": 2}


@pytest.mark.parametrize("bad", ["payload", "$..a", "$[", "$[1 2]", "$['a',1]", "$.a b", "$[a]"])
def test_paths_outside_the_subset_are_refused(bad: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_path(bad)


def test_an_index_outside_the_record_is_an_error() -> None:
    with pytest.raises(DataProcessingError, match="index 9"):
        select(ROW, parse_path("$[9]"))
    with pytest.raises(DataProcessingError, match="no key"):
        select({"a": 1}, parse_path("$.b"))


def test_csv_join_is_the_raw_input_line_then_the_raw_output_line() -> None:
    # asyncml strips the known input prefix from each .out line, so nothing may be re-quoted.
    p = csv("$[1:]", "Input", "$")
    lines = ['job-1,"5,1",3.5', "job-2,4.9,3.0"]
    assert p.filter_inputs(lines) == ['"5,1",3.5', "4.9,3.0"]
    outputs = ['setosa,"0,9"', "versicolor,0.8"]
    assert p.join_outputs(lines, outputs) == ['job-1,"5,1",3.5,setosa,"0,9"', "job-2,4.9,3.0,versicolor,0.8"]


def test_csv_output_filter_picks_from_the_joined_row() -> None:
    p = csv("$[1:]", "Input", "$[0,-1]")
    assert p.join_outputs(["id9,1,2,3"], ["0.7"]) == ["id9,0.7"]
    assert csv("$", "None", "$[0]").join_outputs(["1,2"], ["label,0.9"]) == ["label"]


def test_csv_quoted_fields_keep_their_quotes() -> None:
    assert split_csv('a,"b,""c""",d,') == ["a", '"b,""c"""', "d", ""]
    with pytest.raises(DataProcessingError, match="unbalanced"):
        split_csv('a,"b')


def test_json_join_adds_sagemaker_output_to_an_object() -> None:
    p = jsonl("$.payload", "Input", "$['asyncmlJobId','SageMakerOutput']")
    line = '{"asyncmlJobId": "j1", "payload": {"features": [1, 2, 3, 4]}}'
    assert p.filter_inputs([line]) == ['{"features":[1,2,3,4]}']
    assert p.join_outputs([line], ['{"label": "setosa"}']) == [
        '{"asyncmlJobId":"j1","SageMakerOutput":{"label":"setosa"}}'
    ]


def test_json_join_wraps_a_non_object_input_and_overwrites_the_reserved_key() -> None:
    p = jsonl("$", "Input", "$")
    assert p.join_outputs(["[1,2]"], ["3"]) == ['{"SageMakerInput":[1,2],"SageMakerOutput":3}']
    assert p.join_outputs(['{"SageMakerOutput":0,"a":1}'], ["3"]) == ['{"SageMakerOutput":3,"a":1}']


def test_json_output_that_does_not_parse_is_an_error() -> None:
    with pytest.raises(DataProcessingError, match="model output is not valid JSON"):
        jsonl("$", "Input", "$").join_outputs(['{"a":1}'], ["ERROR"])


def test_csv_filter_and_join_run_well_over_50k_records_per_second() -> None:
    lines = [f"20261125-{i:08d},5.1,3.5,1.4,0.2" for i in range(100_000)]
    outputs = ["setosa,0.981657,0.018343,0.000000"] * len(lines)
    p = csv("$[1:]", "Input", "$")
    began = time.perf_counter()
    p.join_outputs(lines, outputs)
    p.filter_inputs(lines)
    rate = len(lines) / (time.perf_counter() - began)
    assert rate > 50_000, f"{rate:,.0f} records/s"
