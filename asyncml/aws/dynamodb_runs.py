"""[6] store: a run of jobs as DynamoDB items (pure): what `DynamoRunStore` reads and writes.

Jobs submitted by one call share a run (`model.run_of`: their ids differ only in the last three
characters), and a run is stored together, so a move of a run's jobs is one write, not one a job:
- the state item `run#<run>`: every job's status, attempt, batch, transform job and times, as one
  compact JSON document (`doc`) with a version (`v`) that each write is conditioned on;
- input items `in#<run>#<part>`: payloads, metadata and client tokens, written once at submit;
- output items `out#<run>#<part>`: results and errors, written once when the jobs end.
DynamoDB bills a write by the item's size (1 WRU a KB), so a job's share of a state write is its
~30 bytes of state, and its payload and result are written once each.

The indexes find runs: the state item carries `statusKey` while its jobs share one status and
`batchKey` for the batch it joined first (the usual case: a run moves together); a run whose jobs
are spread over several statuses or batches has one small marker item `runm#<run>#…` for each
other one (`RunState.settle_marks`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from asyncml.aws.dynamodb_items import parse_ts, to_item
from asyncml.model import Job, JobStatus, run_of

RUN, INPUT, OUTPUT, MARK = "run", "in", "out", "runm"
SHARDS = 16
PART_BYTES = 350_000  # an input or output item's share of DynamoDB's 400 KB, with room for its keys
_CODE = {"QUEUED": "Q", "BATCHED": "B", "PROCESSING": "P", "COMPLETED": "C", "FAILED": "F", "CANCELLED": "X"}
_STATUS = {code: JobStatus(name) for name, code in _CODE.items()}


def shard(run: str) -> str:
    return f"{zlib.crc32(run.encode()) % SHARDS:02d}"  # crc32: the same in every process


def suffix(job_id: str) -> str:
    return job_id[len(run_of(job_id)) :]


def status_key(status: str, run: str) -> str:
    return f"{RUN}#{status}#{shard(run)}"


def batch_key(batch_id: str, run: str) -> str:
    return f"{batch_id}#r{shard(run)}"


def kind_values() -> list[str]:
    return [f"{RUN}#{i:02d}" for i in range(SHARDS)]


def status_values(status: str) -> list[str]:
    return [f"{RUN}#{status}#{i:02d}" for i in range(SHARDS)]


def batch_values(batch_id: str) -> list[str]:
    return [f"{batch_id}#r{i:02d}" for i in range(SHARDS)]


def run_of_key(pk: str) -> str | None:
    """The run an index entry stands for (a state item or a marker); None for any other item."""
    kind, _, rest = pk.partition("#")
    if kind == RUN:
        return rest
    if kind == MARK:
        return rest.rsplit("#", 2)[0]
    return None


@dataclass(slots=True)
class Entry:
    """One job's state within its run (what changes after submit)."""

    part: str  # the input item holding its payload
    status: str
    attempt: int
    submitted: str
    updated: str
    completed: str | None = None
    batch: str | None = None
    transform: str | None = None
    out: str | None = None  # the output item holding its result and error


@dataclass(slots=True)
class RunState:
    run: str
    version: int = 0  # 0: not stored yet
    jobs: dict[str, Entry] = field(default_factory=dict)  # by id suffix, in submit order
    status_marks: frozenset[str] = frozenset()  # the markers stored now
    batch_marks: frozenset[str] = frozenset()
    expiry: int | None = None  # DynamoDB TTL: set once every job is at an end
    primary: str | None = None  # the batch the state item's batchKey names (settle_marks)

    @property
    def sort_key(self) -> str:
        newest = max((e.submitted for e in self.jobs.values()), default="")
        return f"{newest}#{self.run}"

    def statuses(self) -> set[str]:
        return {e.status for e in self.jobs.values()}

    def batches(self) -> set[str]:
        return {e.batch for e in self.jobs.values() if e.batch is not None}

    def settle_marks(self, before: RunState) -> None:
        """The index entries the run needs once changed from `before`: `statusKey` on the state
        item while its jobs share one status, else a marker a status. `batchKey` names its primary
        batch, kept while any of its jobs is in it, and every other batch has a marker: a batch's
        entry for a run is never moved while that batch has jobs of it, so a listing of the batch
        (its PROCESSING move, its failure) cannot miss the run while the index catches up."""
        statuses, batches = self.statuses(), self.batches()
        self.status_marks = frozenset(statuses) if len(statuses) > 1 else frozenset()
        primary = before.primary if before.primary in batches else None
        if primary is None and batches and not before.batch_marks & batches:
            primary = min(batches)
        self.primary = primary
        self.batch_marks = frozenset(batches - {primary})

    def newest_first(self) -> list[str]:
        return sorted(self.jobs, key=lambda s: (self.jobs[s].submitted, s), reverse=True)


def encode_doc(state: RunState) -> str:
    strings: dict[str, int] = {}

    def ref(text: str | None) -> int:
        return -1 if text is None else strings.setdefault(text, len(strings))

    rows = [
        [sfx, ref(e.part), _CODE[e.status], e.attempt, ref(e.submitted), ref(e.updated), ref(e.completed),
         ref(e.batch), ref(e.transform), ref(e.out)]
        for sfx, e in state.jobs.items()
    ]  # fmt: skip
    doc = {"t": list(strings), "j": rows, "s": sorted(state.status_marks), "b": sorted(state.batch_marks),
           "p": state.primary}  # fmt: skip
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def decode_doc(run: str, version: int, text: str) -> RunState:
    doc = json.loads(text)
    t: list[str] = doc["t"]

    def at(n: int) -> str | None:
        return None if n < 0 else t[n]

    jobs = {
        sfx: Entry(t[part], _STATUS[code].value, attempt, t[sub], t[upd], at(done), at(b), at(tj), at(out))
        for sfx, part, code, attempt, sub, upd, done, b, tj, out in doc["j"]
    }
    return RunState(run, version, jobs, frozenset(doc["s"]), frozenset(doc["b"]), primary=doc.get("p"))


def state_item(state: RunState, expires: int | None) -> dict[str, Any]:
    statuses = state.statuses()
    values: dict[str, Any] = {
        "pk": f"{RUN}#{state.run}",
        "v": state.version,
        "doc": encode_doc(state),
        "kind": f"{RUN}#{shard(state.run)}",
        "sortKey": state.sort_key,
        "statusKey": status_key(next(iter(statuses)), state.run) if len(statuses) == 1 else None,
        "batchKey": batch_key(state.primary, state.run) if state.primary else None,
        "expiresAt": expires,
    }
    return to_item(values)


def state_from_item(run: str, item: dict[str, Any]) -> RunState:
    state = decode_doc(run, int(item["v"]["N"]), item["doc"]["S"])
    state.expiry = int(item["expiresAt"]["N"]) if "expiresAt" in item else None
    return state


def mark_item(state: RunState, what: str, value: str, expires: int | None) -> dict[str, Any]:
    """A marker: `what` is "s" (a status the run holds) or "b" (a batch it has jobs in)."""
    values: dict[str, Any] = {"pk": mark_key(state.run, what, value), "sortKey": state.sort_key}
    if what == "s":
        values["statusKey"] = status_key(value, state.run)
    else:
        values["batchKey"] = batch_key(value, state.run)
    values["expiresAt"] = expires
    return to_item(values)


def mark_key(run: str, what: str, value: str) -> str:
    return f"{MARK}#{run}#{what}#{value}"


def parts(jobs: Iterable[Job], tag: str) -> Iterator[tuple[str, list[Job]]]:
    """The jobs of one run in input items of at most PART_BYTES each, named `<tag><n>`."""
    chunk: list[Job] = []
    size, n = 0, 0
    for job in jobs:
        grown = _input_bytes(job)
        if chunk and size + grown > PART_BYTES:
            yield f"{tag}{n}", chunk
            chunk, size, n = [], 0, n + 1
        chunk.append(job)
        size += grown
    if chunk:
        yield f"{tag}{n}", chunk


def _input_bytes(job: Job) -> int:
    return 40 + sum(len(v.encode()) for v in (job.payload, job.metadata, job.client_token) if v)


def input_item(run: str, part: str, jobs: list[Job]) -> dict[str, Any]:
    values: dict[str, Any] = {"pk": f"{INPUT}#{run}#{part}"}
    for job in jobs:
        sfx = suffix(job.job_id)
        values |= {f"p:{sfx}": job.payload, f"m:{sfx}": job.metadata, f"k:{sfx}": job.client_token}
    return to_item(values)


def input_key(run: str, part: str) -> dict[str, Any]:
    return {"pk": {"S": f"{INPUT}#{run}#{part}"}}


def output_items(
    run: str, tag: str, ends: dict[str, tuple[str | None, str | None]], expires: int | None = None
) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    """Results and errors (by suffix) in output items of at most PART_BYTES each, with the TTL
    `expires`: (part, item, suffixes)."""
    chunk: dict[str, Any] = {}
    size, n = 0, 0
    for sfx, (result, error) in ends.items():
        grown = 20 + len((result or "").encode()) + len((error or "").encode())
        if chunk and size + grown > PART_BYTES:
            yield _output(run, f"{tag}{n}", chunk, expires)
            chunk, size, n = {}, 0, n + 1
        chunk[sfx] = (result, error)
        size += grown
    if chunk:
        yield _output(run, f"{tag}{n}", chunk, expires)


def _output(
    run: str, part: str, ends: dict[str, Any], expires: int | None
) -> tuple[str, dict[str, Any], list[str]]:
    values: dict[str, Any] = {"pk": f"{OUTPUT}#{run}#{part}", "expiresAt": expires}
    for sfx, (result, error) in ends.items():
        values |= {f"r:{sfx}": result, f"e:{sfx}": error}
    return part, to_item(values), list(ends)


def output_key(run: str, part: str) -> dict[str, Any]:
    return {"pk": {"S": f"{OUTPUT}#{run}#{part}"}}


def job_of(
    state: RunState, sfx: str, inputs: dict[str, Any] | None, outputs: dict[str, Any] | None
) -> Job | None:
    """The job as the API sees it, from its run's state and the input and output items naming it;
    None when its input item is gone (expired with its run)."""
    e = state.jobs[sfx]
    got = inputs or {}
    if f"p:{sfx}" not in got:
        return None
    out = outputs or {}
    return Job(
        job_id=state.run + sfx,
        status=JobStatus(e.status),
        payload=_text(got[f"p:{sfx}"]),
        submitted_at=parse_ts(e.submitted),
        updated_at=parse_ts(e.updated),
        result=_opt(out.get(f"r:{sfx}")),
        error=_opt(out.get(f"e:{sfx}")),
        batch_id=e.batch,
        transform_job_name=e.transform,
        metadata=_opt(got.get(f"m:{sfx}")),
        client_token=_opt(got.get(f"k:{sfx}")),
        completed_at=parse_ts(e.completed) if e.completed else None,
        attempt=e.attempt,
    )


def _text(value: dict[str, Any]) -> str:
    text: str = value["S"]
    return text


def _opt(value: dict[str, Any] | None) -> str | None:
    return None if value is None else _text(value)
