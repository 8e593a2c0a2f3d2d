from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest

from asyncml import queries
from asyncml.errors import Conflict, NotFound, ValidationError
from asyncml.model import JobMove, JobStatus, run_of
from asyncml.ports import Ports
from asyncml.submit import SubmitInput, cancel_job, new_job_ids, submit_job, submit_jobs
from tests.conftest import with_settings


def stored_count(ports: Ports) -> int:
    return len(queries.list_jobs(ports, limit=1000).items)


def test_submitted_job_is_queued_streamed_and_published(ports: Ports) -> None:
    job = submit_job(ports, SubmitInput("5.1,3.5,1.4,0.2"))
    assert job.status is JobStatus.QUEUED
    assert queries.get_job(ports, job.job_id) == job
    assert ports.stream.put_ids == [job.job_id]  # type: ignore[attr-defined]
    assert ports.publisher.statuses(job.job_id) == ["QUEUED"]  # type: ignore[attr-defined]


def test_job_ids_are_uuid7_in_submit_order_across_calls(ports: Ports) -> None:
    first = submit_jobs(ports, [SubmitInput("1,2")] * 50)
    time.sleep(0.002)  # the ids' clock counts milliseconds: the next call is in a later one
    second = submit_jobs(ports, [SubmitInput("3,4")] * 50)
    ids = [j.job_id for j in first + second]
    assert len(set(ids)) == 100
    for job_id in ids:
        parsed = uuid.UUID(job_id)
        assert (str(parsed), parsed.version, parsed.variant) == (job_id, 7, uuid.RFC_4122)
    # A later call's ids sort after an earlier call's: the store gets each batch as adjacent keys.
    assert max(j.job_id for j in first) < min(j.job_id for j in second)
    stamp_ms = int(ids[0].replace("-", "")[:12], 16)
    assert abs(stamp_ms - time.time() * 1000) < 60_000
    # One call's jobs share a run (all but the last 3 hex digits); two calls never do.
    assert {run_of(j.job_id) for j in first} == {run_of(first[0].job_id)} != {run_of(second[0].job_id)}


def test_a_run_holds_at_most_4096_ids_each_a_uuid7() -> None:
    ids = new_job_ids(5000)
    assert len(set(ids)) == 5000 and ids == sorted(ids)
    assert Counter(run_of(i) for i in ids).most_common() == [(run_of(ids[0]), 4096), (run_of(ids[-1]), 904)]
    assert {(uuid.UUID(i).version, uuid.UUID(i).variant) for i in ids} == {(7, uuid.RFC_4122)}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ("1,2\n3,4", "newline"),
        ("1,2\r", "carriage return"),
        ("1,\x002", "NUL"),
        ("", "empty"),
        ("   ", "empty"),
        ('1,"unterminated', "not a CSV record"),
        ('1,2"3', "not a CSV record"),
        ('"a"b,1', "not a CSV record"),
    ],
)
def test_bad_csv_payload_is_refused_and_nothing_is_stored(ports: Ports, payload: str, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        submit_job(ports, SubmitInput(payload))
    assert err.value.field == "input.payload"
    assert words in err.value.message
    assert stored_count(ports) == 0


@pytest.mark.parametrize("payload", ['"a,b",5', '"say ""hi""",1', ",,", "1,,2", '""'])
def test_quoted_and_empty_csv_fields_are_accepted(ports: Ports, payload: str) -> None:
    assert submit_job(ports, SubmitInput(payload)).status is JobStatus.QUEUED


def test_payload_over_the_size_limit_names_size_and_limit(ports: Ports) -> None:
    with pytest.raises(ValidationError) as err:
        submit_job(ports, SubmitInput("1," * 140_000))
    assert "280000 bytes; the limit is 262144" in err.value.message


@pytest.mark.parametrize("payload", ["[1,2]", "3", "not json", '"text"'])
def test_jsonlines_payload_must_be_a_json_object(ports: Ports, payload: str) -> None:
    ports = with_settings(ports, content_type="application/jsonlines")
    with pytest.raises(ValidationError) as err:
        submit_job(ports, SubmitInput(payload))
    assert err.value.field == "input.payload"
    assert submit_job(ports, SubmitInput('{"features": [1, 2, 3, 4]}')).status is JobStatus.QUEUED


def test_metadata_must_be_json(ports: Ports) -> None:
    with pytest.raises(ValidationError) as err:
        submit_job(ports, SubmitInput("1,2", metadata="{oops"))
    assert err.value.field == "input.metadata"


def test_more_than_500_inputs_are_refused_whole(ports: Ports) -> None:
    with pytest.raises(ValidationError) as err:
        submit_jobs(ports, [SubmitInput("1,2")] * 501)
    assert "501 items; the limit is 500" in err.value.message
    assert stored_count(ports) == 0


def test_one_bad_input_refuses_the_call_and_names_its_index(ports: Ports) -> None:
    with pytest.raises(ValidationError) as err:
        submit_jobs(ports, [SubmitInput("1,2"), SubmitInput("1\n2")])
    assert err.value.field == "inputs[1].payload"
    assert stored_count(ports) == 0


def test_client_token_returns_the_same_job_and_streams_it_once(ports: Ports) -> None:
    first = submit_job(ports, SubmitInput("1,2", client_token="t-1", metadata='{"a": 1, "b": 2}'))
    again = submit_job(ports, SubmitInput("1,2", client_token="t-1", metadata='{"b":2,"a":1}'))
    assert again == first
    assert ports.stream.put_ids == [first.job_id]  # type: ignore[attr-defined]
    both = submit_jobs(
        ports, [SubmitInput("3,4", client_token="t-2"), SubmitInput("3,4", client_token="t-2")]
    )
    assert both[0].job_id == both[1].job_id
    assert stored_count(ports) == 2


@pytest.mark.parametrize(
    "retry",
    [SubmitInput("9,9", client_token="t-1"), SubmitInput("1,2", client_token="t-1", metadata='{"n": 2}')],
    ids=["other-payload", "other-metadata"],
)
def test_a_client_token_reused_with_another_input_is_a_conflict(ports: Ports, retry: SubmitInput) -> None:
    first = submit_job(ports, SubmitInput("1,2", client_token="t-1"))
    with pytest.raises(Conflict) as refused:
        submit_job(ports, retry)
    assert refused.value.field == "input.clientToken"
    assert "'t-1'" in refused.value.message and first.job_id in refused.value.message
    assert stored_count(ports) == 1


def test_a_client_token_given_twice_in_one_call_with_other_inputs_is_a_conflict(ports: Ports) -> None:
    inputs = [SubmitInput("1,2"), SubmitInput("1,2", client_token="t"), SubmitInput("3,4", client_token="t")]
    with pytest.raises(Conflict) as refused:
        submit_jobs(ports, inputs)
    assert refused.value.field == "inputs[2].clientToken"
    assert stored_count(ports) == 0


def test_cancel_a_queued_job(ports: Ports) -> None:
    job = submit_job(ports, SubmitInput("1,2"))
    assert cancel_job(ports, job.job_id).status is JobStatus.CANCELLED
    assert ports.publisher.statuses(job.job_id) == ["QUEUED", "CANCELLED"]  # type: ignore[attr-defined]


def test_cancel_unknown_job_is_not_found(ports: Ports) -> None:
    with pytest.raises(NotFound) as err:
        cancel_job(ports, "nope")
    assert err.value.field == "jobId"


def test_cancel_a_batched_job_is_a_conflict(ports: Ports) -> None:
    job = submit_job(ports, SubmitInput("1,2"))
    ports.store.move_jobs([JobMove(job.job_id, JobStatus.BATCHED, batch_id="b")], ports.clock.now())
    with pytest.raises(Conflict) as err:
        cancel_job(ports, job.job_id)
    assert "is BATCHED; only a QUEUED job can be cancelled" in err.value.message


def test_list_limit_outside_range_is_refused(ports: Ports) -> None:
    with pytest.raises(ValidationError) as err:
        queries.list_jobs(ports, limit=0)
    assert err.value.field == "limit"
