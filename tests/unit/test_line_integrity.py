"""Line integrity: one damaged line fails its own record, and files that miss jobs fail those jobs."""

from __future__ import annotations

from asyncml import batch_files, queries, results, transform
from asyncml.model import Batch, BatchStatus, Job, JobStatus
from asyncml.ports import Ports
from tests.unit.test_batch_to_results import read_lines, seal

IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5", "4.9,3.0,1.4,0.2", "6.3,3.3,6.0,2.5"]


def started(ports: Ports) -> tuple[list[str], Batch]:
    ids, batch = seal(ports, IRIS)
    transform.start_batch(ports, batch.input_key)
    return ids, batch


def write_out(ports: Ports, batch: Batch, outputs: list[bytes]) -> str:
    """A `.out` joined as Batch Transform joins CSV: each input line, a comma, the model's line."""
    inputs = read_lines(ports, batch.input_key)
    lines = [line.encode() + b"," + out for line, out in zip(inputs, outputs, strict=False)]
    key = batch_files.output_key(batch.input_key)
    ports.bucket.put(key, b"".join(line + b"\n" for line in lines))
    return key


def jobs(ports: Ports, ids: list[str]) -> list[Job]:
    found = [queries.get_job(ports, i) for i in ids]
    assert all(j is not None for j in found)
    return found  # type: ignore[return-value]


def adds_up(batch: Batch | None) -> Batch:
    assert batch is not None
    assert batch.completed_count + batch.failed_count == batch.job_count
    return batch


def test_a_bare_cr_inside_a_model_output_stays_in_that_records_result(ports: Ports) -> None:
    ids, batch = started(ports)
    outputs = [f"label-{i}".encode() for i in range(5)]
    outputs[2] = b"label-2\rtrailing"
    done = adds_up(results.apply_output(ports, write_out(ports, batch, outputs)))
    assert done.status is BatchStatus.COMPLETED and done.completed_count == 5
    assert [j.result for j in jobs(ports, ids)] == [
        "label-0",
        "label-1",
        "label-2\rtrailing",
        "label-3",
        "label-4",
    ]


def test_a_model_output_that_is_not_utf8_fails_only_its_record(ports: Ports) -> None:
    ids, batch = started(ports)
    outputs = [f"label-{i}".encode() for i in range(5)]
    outputs[1] = "étiquette".encode("latin-1")
    key = write_out(ports, batch, outputs)
    done = adds_up(results.apply_output(ports, key))
    got = jobs(ports, ids)
    assert [j.status for j in got].count(JobStatus.COMPLETED) == 4
    assert got[1].status is JobStatus.FAILED and got[1].error == batch_files.NOT_UTF8_OUTPUT
    assert done.status is BatchStatus.FAILED and done.error is not None and key in done.error


def test_an_out_with_fewer_lines_fails_the_records_it_misses(ports: Ports) -> None:
    ids, batch = started(ports)
    key = write_out(ports, batch, [b"label-0", b"label-1", b"label-2"])  # the last two are missing
    done = adds_up(results.apply_output(ports, key))
    got = jobs(ports, ids)
    assert [j.status for j in got] == [JobStatus.COMPLETED] * 3 + [JobStatus.FAILED] * 2
    assert got[4].error == batch_files.MISSING_OUTPUT
    assert done.status is BatchStatus.FAILED and done.error is not None and key in done.error
    assert (done.completed_count, done.failed_count) == (3, 2)


def test_a_truncated_batch_file_fails_the_jobs_it_lost_and_the_batch_names_it(ports: Ports) -> None:
    ids, batch = started(ports)
    kept = read_lines(ports, batch.input_key)[:3]
    ports.bucket.put(batch.input_key, ("\n".join(kept) + "\n").encode())
    done = adds_up(results.apply_output(ports, write_out(ports, batch, [b"a", b"b", b"c"])))
    got = jobs(ports, ids)
    assert [j.status for j in got] == [JobStatus.COMPLETED] * 3 + [JobStatus.FAILED] * 2
    assert got[3].error is not None and batch.input_key in got[3].error
    assert done.status is BatchStatus.FAILED and done.error is not None and batch.input_key in done.error


def test_a_batch_file_that_is_not_utf8_ends_every_job_failed_with_the_file_named(ports: Ports) -> None:
    ids, batch = started(ports)
    key = write_out(ports, batch, [b"a"] * 5)
    ports.bucket.put(batch.input_key, "\n".join(IRIS).encode("utf-16"))
    done = adds_up(results.apply_output(ports, key))
    got = jobs(ports, ids)
    assert {j.status for j in got} == {JobStatus.FAILED}
    assert all(batch.input_key in (j.error or "") for j in got)
    assert done.status is BatchStatus.FAILED and done.failed_count == 5


def test_an_out_of_garbage_fails_every_record_and_still_adds_up(ports: Ports) -> None:
    ids, batch = started(ports)
    key = batch_files.output_key(batch.input_key)
    ports.bucket.put(key, b"\x00\xff garbage\n{not json\n\n")
    done = adds_up(results.apply_output(ports, key))
    assert {j.status for j in jobs(ports, ids)} == {JobStatus.FAILED}
    assert done.status is BatchStatus.FAILED and done.error is not None and key in done.error


def test_an_out_cut_inside_a_line_fails_that_record_instead_of_keeping_half_a_result(ports: Ports) -> None:
    ids, batch = started(ports)
    key = write_out(ports, batch, [b"label-0,0.98", b"label-1,0.97"] + [b"x"] * 3)
    whole = b"".join(line + b"\n" for line in batch_files.split_lines(ports.bucket.read_chunks(key)))
    ports.bucket.put(key, whole[: whole.index(b"label-1") + 5])  # cut inside the second record
    done = adds_up(results.apply_output(ports, key))
    got = jobs(ports, ids)
    assert got[0].status is JobStatus.COMPLETED and got[0].result == "label-0,0.98"
    assert got[1].status is JobStatus.FAILED and got[1].error == batch_files.MISSING_OUTPUT
    assert done.status is BatchStatus.FAILED and (done.completed_count, done.failed_count) == (1, 4)
