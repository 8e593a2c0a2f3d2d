"""[6] store (local): JobStore in one SQLite file; status moves are conditional UPDATEs."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from asyncml.errors import Unavailable
from asyncml.local import sqlite_rows as layout
from asyncml.local.private_files import FILE_MODE, narrow, private_file
from asyncml.model import (
    JOB_TERMINAL,
    Batch,
    BatchStatus,
    Job,
    JobMove,
    JobStatus,
    Page,
    batch_sources,
    job_sources,
    retry_sources,
)

T = TypeVar("T")
_JOB_MARKS = f"({','.join('?' * 13)})"
_ROWS_PER_INSERT = 2000  # 13 parameters each: inside SQLite's 32,766 per statement
# The API process and the pipeline process both write (WAL allows one writer at a time): a write
# waits for the other's transaction, a chunk of 500 moves, rather than failing at once.
BUSY_S = 30.0


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        # Made 0600 before SQLite opens it: SQLite would make it 0644, and it gives the -wal and
        # -shm files it creates the database's mode. Older ones are narrowed.
        private_file(path)
        # One connection shared under a lock: the event loop and worker threads both use it.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_S)
        self._lock = threading.RLock()
        # Reads (pages of up to 1,000 jobs of 256 KiB, a batch, counts) run on a connection of the
        # reading thread's own, outside the lock: WAL lets them run beside the writes, and the
        # pipeline's stages (seal, start, apply) would otherwise wait for each other's transactions.
        self._path, self._local, self._readers = path, threading.local(), list[sqlite3.Connection]()
        # WAL + NORMAL: a committed transaction survives a killed process (not a power cut).
        # A checkpoint every 10,000 pages (~40 MB of WAL) instead of SQLite's 1,000: the index pages
        # every move rewrites are copied back to the database once per checkpoint, not ten times.
        # A 32 MiB page cache for the writer (SQLite's default is 2 MiB): the pages a move rewrites
        # (the id, status and batch indexes' hot ends) stay in memory between transactions.
        self._db.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;"
            " PRAGMA cache_size=-32768;" + layout.SCHEMA
        )
        for suffix in ("-wal", "-shm"):
            narrow(path.with_name(path.name + suffix), FILE_MODE)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        if "attempt" not in columns:  # a data dir from before retryJobs
            self._db.execute("ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(batches)")}
        if "start_attempts" not in columns:  # a data dir from before the start re-drive
            self._db.execute("ALTER TABLE batches ADD COLUMN start_attempts INTEGER NOT NULL DEFAULT 0")
            self._db.execute("ALTER TABLE batches ADD COLUMN start_error TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            for reader in self._readers:
                reader.close()

    def _read(self, sql: str, args: Sequence[object]) -> list[Any]:
        reader: sqlite3.Connection | None = getattr(self._local, "db", None)
        if reader is None:
            reader = sqlite3.connect(
                self._path, check_same_thread=False, isolation_level=None, timeout=BUSY_S
            )
            self._local.db = reader
            with self._lock:
                self._readers.append(reader)
        return reader.execute(sql, args).fetchall()

    def create_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        try:
            return self._create_jobs(jobs)
        except sqlite3.OperationalError as exc:
            # "database or disk is full", "database is locked": the transaction rolled back whole.
            message = f"the job store could not write ({exc}); nothing was stored, retry later"
            raise Unavailable(message) from exc

    def _create_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            tokens = [j.client_token for j in jobs if j.client_token]
            known: dict[str, Job] = {}
            for chunk in _chunks(tokens, 500):
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT {layout.JOB_COLS} FROM jobs WHERE client_token IN ({marks})", chunk
                )
                known.update({r[8]: layout.job(r) for r in rows})
            out: list[Job] = []
            new: list[Job] = []
            for job in jobs:
                if job.client_token and job.client_token in known:
                    out.append(known[job.client_token])
                    continue
                if job.client_token:
                    known[job.client_token] = job
                new.append(job)
                out.append(job)
            # One INSERT of many rows, not executemany: each row of an executemany (and each row a
            # RETURNING gives back) takes the GIL back from the process's other threads, which can
            # keep it up to a switch interval (5 ms) a time while this transaction blocks every writer.
            for part in _chunks(new, _ROWS_PER_INSERT):
                self._db.execute(
                    f"INSERT INTO jobs ({layout.JOB_COLS}) VALUES {','.join([_JOB_MARKS] * len(part))}",
                    [v for j in part for v in layout.job_row(j)],
                )
        return out

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        found: dict[str, Job] = {}
        for chunk in _chunks(list(job_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = self._read(f"SELECT {layout.JOB_COLS} FROM jobs WHERE job_id IN ({marks})", chunk)
            found.update({r[0]: layout.job(r) for r in rows})
        return [found[i] for i in job_ids if i in found]

    def move_jobs(self, moves: Sequence[JobMove], now: datetime) -> list[Job]:
        moved = {r[0]: layout.job(r) for r in self._move(moves, now, whole=True)}
        return [moved.pop(m.job_id) for m in moves if m.job_id in moved]

    def move_job_ids(self, moves: Sequence[JobMove], now: datetime) -> list[str]:
        moved = {r[0] for r in self._move(moves, now, whole=False)}
        return [i for i in dict.fromkeys(m.job_id for m in moves) if i in moved]

    def _move(self, moves: Sequence[JobMove], now: datetime, *, whole: bool) -> list[Sequence[Any]]:
        """Each move whose job is in one of its status's sources (and in its batch, if it names one):
        the moved rows, whole or just their ids, read in the same transaction."""
        stamp = now.isoformat()
        by_status: dict[JobStatus, list[JobMove]] = {}
        for m in moves:
            by_status.setdefault(m.status, []).append(m)
        rows: list[Sequence[Any]] = []
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for status, group in by_status.items():
                sources = job_sources(status)
                done = stamp if status in JOB_TERMINAL else None
                for chunk in _chunks(group, 500):
                    # Per chunk one SELECT of the rows that will move (nothing else writes meanwhile),
                    # one UPDATE ... FROM (VALUES ...) of those, and for whole rows one SELECT after:
                    # each a single step that answers one JSON text. RETURNING would hand back a row
                    # per step, and each step takes the GIL back (see _create_jobs).
                    values = ",".join(["(?,?,?,?,?,?)"] * len(chunk))
                    params: list[object] = []
                    for m in chunk:
                        params += [m.job_id, m.result, m.error, m.batch_id, m.transform_job_name, m.in_batch]
                    params += sources
                    where = (
                        "jobs.job_id = m.column1 AND (m.column6 IS NULL OR batch_id = m.column6"
                        " OR (batch_id IS NULL AND attempt = 1))"
                        f" AND status IN ({','.join('?' * len(sources))})"
                    )
                    (found,) = self._db.execute(
                        f"SELECT json_group_array(jobs.job_id) FROM (VALUES {values}) AS m CROSS JOIN jobs"
                        f" WHERE {where}",
                        params,
                    ).fetchone()
                    ids = list(dict.fromkeys(json.loads(found)))
                    if not ids:
                        continue
                    self._db.execute(
                        "UPDATE jobs SET status=?, updated_at=?, completed_at=?,"
                        " result=coalesce(m.column2, result), error=coalesce(m.column3, error),"
                        " batch_id=coalesce(m.column4, batch_id),"
                        " transform_job_name=coalesce(m.column5, transform_job_name)"
                        f" FROM (VALUES {values}) AS m WHERE {where}",
                        [status.value, stamp, done, *params],
                    )
                    rows += self._rows(ids) if whole else [(i,) for i in ids]
        return rows

    def _rows(self, job_ids: Sequence[str]) -> list[Sequence[Any]]:
        """The jobs' rows (JOB_COLS) in one step: one JSON array of arrays."""
        (found,) = self._db.execute(
            f"SELECT json_group_array(json_array({layout.JOB_COLS})) FROM"
            f" (VALUES {','.join(['(?)'] * len(job_ids))}) AS m CROSS JOIN jobs ON jobs.job_id = m.column1",
            job_ids,
        ).fetchone()
        rows: list[Sequence[Any]] = json.loads(found)
        return rows

    def retry_jobs(self, job_ids: Sequence[str], now: datetime) -> list[Job]:
        sources = [s.value for s in retry_sources()]
        moved: dict[str, Job] = {}
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for chunk in _chunks(list(dict.fromkeys(job_ids)), 500):
                rows = self._db.execute(
                    "UPDATE jobs SET status=?, attempt=attempt+1, updated_at=?, result=NULL, error=NULL,"
                    " batch_id=NULL, transform_job_name=NULL, completed_at=NULL"
                    f" WHERE job_id IN ({','.join('?' * len(chunk))})"
                    f" AND status IN ({','.join('?' * len(sources))}) RETURNING {layout.JOB_COLS}",
                    (JobStatus.QUEUED.value, now.isoformat(), *chunk, *sources),
                )
                moved.update((r[0], layout.job(r)) for r in rows)
        return [moved.pop(i) for i in job_ids if i in moved]

    def list_jobs(
        self, *, status: JobStatus | None, batch_id: str | None, limit: int, next_token: str | None
    ) -> Page[Job]:
        where: list[str] = ["seq < ?"]
        args: list[object] = [layout.read_token(next_token)]
        if status is not None:
            where.append("status = ?")
            args.append(status.value)
        if batch_id is not None:
            where.append("batch_id = ?")
            args.append(batch_id)
        sql = f"SELECT seq, {layout.JOB_COLS} FROM jobs WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"
        rows = self._read(sql, (*args, limit + 1))
        items = [layout.job(r[1:]) for r in rows[:limit]]
        return Page(items, layout.make_token(rows[limit - 1][0]) if len(rows) > limit else None)

    def move_batch_jobs(
        self, batch_id: str, status: JobStatus, now: datetime, *, transform_job_name: str | None = None
    ) -> list[str]:
        # One UPDATE over the batch index: half what listing the batch and moving it by id costs.
        # The ids are read first, in one step (see _move), rather than RETURNING a row per step.
        sources = job_sources(status)
        where = f"batch_id = ? AND status IN ({','.join('?' * len(sources))})"
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            (found,) = self._db.execute(
                f"SELECT json_group_array(job_id) FROM jobs WHERE {where}", (batch_id, *sources)
            ).fetchone()
            self._db.execute(
                "UPDATE jobs SET status=?, updated_at=?, completed_at=?,"
                f" transform_job_name=coalesce(?, transform_job_name) WHERE {where}",
                (status.value, now.isoformat(), now.isoformat() if status in JOB_TERMINAL else None,
                 transform_job_name, batch_id, *sources),
            )  # fmt: skip
        ids: list[str] = json.loads(found)
        return ids

    def batch_job_ids(self, batch_id: str) -> list[str]:
        return [r[0] for r in self._read("SELECT job_id FROM jobs WHERE batch_id = ?", (batch_id,))]

    def count_batch_jobs(self, batch_id: str) -> dict[JobStatus, int]:
        rows = self._read("SELECT status, count(*) FROM jobs WHERE batch_id = ? GROUP BY status", (batch_id,))
        return {JobStatus(s): n for s, n in rows}

    def count_jobs_by_status(self) -> dict[JobStatus, int]:
        # Answered from the jobs_status index alone: 100k jobs count in milliseconds.
        rows = self._read("SELECT status, count(*) FROM jobs GROUP BY status", ())
        return {JobStatus(s): n for s, n in rows}

    def create_batch(self, batch: Batch) -> Batch:
        with self._lock, self._db:
            self._db.execute(
                f"INSERT OR IGNORE INTO batches ({layout.BATCH_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                layout.batch_row(batch),
            )
            row = self._db.execute(
                f"SELECT {layout.BATCH_COLS} FROM batches WHERE batch_id=?", (batch.batch_id,)
            ).fetchone()
        return layout.batch(row)

    def get_batch(self, batch_id: str) -> Batch | None:
        rows = self._read(f"SELECT {layout.BATCH_COLS} FROM batches WHERE batch_id=?", (batch_id,))
        return layout.batch(rows[0]) if rows else None

    def move_batch(
        self,
        batch_id: str,
        status: BatchStatus,
        now: datetime,
        *,
        claimed_by: str | None = None,
        **changes: Any,
    ) -> Batch | None:
        unknown = set(changes) - layout.BATCH_FIELDS
        if unknown:
            raise TypeError(f"move_batch got unknown fields {sorted(unknown)}")
        condition: tuple[Any, ...]
        if claimed_by is not None:
            if status is not BatchStatus.BATCHED:
                raise ValueError("a claim leaves the batch BATCHED")
            changes = {**changes, "transform_job_name": claimed_by}
            where = "status = ? AND (transform_job_name IS NULL OR transform_job_name = ?)"
            condition = (BatchStatus.BATCHED.value, claimed_by)
        else:
            condition = batch_sources(status)
            where = f"status IN ({','.join('?' * len(condition))})"
        sets = ", ".join(f"{k}=?" for k in changes)
        with self._lock, self._db:
            row = self._db.execute(
                f"UPDATE batches SET status=?, updated_at=?{', ' + sets if sets else ''}"
                f" WHERE batch_id=? AND {where} RETURNING {layout.BATCH_COLS}",
                (status.value, now.isoformat(), *changes.values(), batch_id, *condition),
            ).fetchone()
        return layout.batch(row) if row else None

    def list_batches(self, *, status: BatchStatus | None, limit: int, next_token: str | None) -> Page[Batch]:
        where: list[str] = ["seq < ?"]
        args: list[object] = [layout.read_token(next_token)]
        if status is not None:
            where.append("status = ?")
            args.append(status.value)
        sql = (
            f"SELECT seq, {layout.BATCH_COLS} FROM batches WHERE {' AND '.join(where)}"
            " ORDER BY seq DESC LIMIT ?"
        )
        rows = self._read(sql, (*args, limit + 1))
        items = [layout.batch(r[1:]) for r in rows[:limit]]
        return Page(items, layout.make_token(rows[limit - 1][0]) if len(rows) > limit else None)


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
