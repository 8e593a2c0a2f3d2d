"""The one-process floor of bench/local_stack.py: what this machine does per record with no framework.

For the same records as the end-to-end part, in series in one process: parse the submitJobs request
body (JSON), insert the jobs in SQLite (WAL, synchronous=NORMAL, one transaction per 500), predict
with the demo model and format its CSV answer, update each job to COMPLETED with its result (one
transaction per 500), and encode one event JSON per job. asyncml's records/s over this rate is
the share of the machine it reaches (issue 11 asks for >= 40%)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from asyncml.transform_emulator.demo_model import CSV, IrisModel

_SCHEMA = """
PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
CREATE TABLE jobs (seq INTEGER PRIMARY KEY, job_id TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
  payload TEXT NOT NULL, result TEXT, submitted_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX jobs_status ON jobs (status, seq);
"""


def floor_rate(total: int, body: bytes, chunk: int = 500) -> tuple[float, float]:
    """Records per second of wall time and per second of CPU, for `total` records sent as `body`
    (one submitJobs request of `chunk` inputs)."""
    model = IrisModel()
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None)
        db.executescript(_SCHEMA)
        t0, cpu0 = time.perf_counter(), time.process_time()
        for _ in range(total // chunk):
            inputs = json.loads(body)["variables"]["i"]
            now = datetime.now(UTC).isoformat()
            jobs = [(uuid.uuid4().hex, i["payload"]) for i in inputs]
            with db:
                db.execute("BEGIN")
                db.executemany(
                    "INSERT INTO jobs (job_id, status, payload, submitted_at, updated_at) VALUES (?,?,?,?,?)",
                    [(job_id, "QUEUED", payload, now, now) for job_id, payload in jobs],
                )
            answer = model.predict_lines("".join(p + "\n" for _, p in jobs), CSV, CSV).split("\n")
            done = datetime.now(UTC).isoformat()
            with db:
                db.execute("BEGIN")
                db.executemany(
                    "UPDATE jobs SET status='COMPLETED', result=?, updated_at=? WHERE job_id=?",
                    [(answer[k], done, job_id) for k, (job_id, _) in enumerate(jobs)],
                )
            for k, (job_id, payload) in enumerate(jobs):
                event = {"jobId": job_id, "status": "COMPLETED", "payload": payload, "result": answer[k],
                         "submittedAt": now, "updatedAt": done, "completedAt": done}  # fmt: skip
                json.dumps({"type": "data", "id": "1", "payload": {"data": {"onJobUpdated": event}}})
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        db.close()
    return total / elapsed, total / cpu
