"""The data dir is the owner's alone: after real pipeline runs every file is 0600, every folder 0700."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncml.local.api.api_key import load_or_create_api_key
from asyncml.local.wiring import LocalRuntime, build_runtime
from asyncml.model import JobStatus
from asyncml.settings import Settings
from asyncml.submit import SubmitInput, submit_jobs
from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.test_local_pipeline import wait_terminal

IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5"]


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The widest umask there is: every mode must then come from asyncml, not from the umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def run_to_the_end(rt: LocalRuntime) -> None:
    ids = [j.job_id for j in submit_jobs(rt.ports, [SubmitInput(p) for p in IRIS])]
    assert {j.status for j in await wait_terminal(rt, ids)} == {JobStatus.COMPLETED}


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[path.relative_to(root).as_posix()] = stat.S_IMODE(path.lstat().st_mode)
    return found


@pytest.mark.usefixtures("open_umask")
async def test_every_file_is_0600_and_every_folder_0700_whatever_the_umask(
    tmp_path: Path, demo_model: DemoModel
) -> None:
    data_dir = tmp_path / "data"
    load_or_create_api_key(data_dir)
    seen: dict[str, int] = {}
    for trigger in ("s3", "schedule"):  # the schedule also writes manifests
        settings = Settings(
            data_dir=data_dir,
            batch_size=3,
            batch_window=0.1,
            trigger=trigger,
            schedule_seconds=0.1,
            transform_min_records=1,
            model_url=demo_model.url,
        )
        rt = build_runtime(settings)
        await rt.start()
        try:
            await run_to_the_end(rt)
            seen |= modes(data_dir)  # while SQLite has its -wal and -shm open
        finally:
            await rt.stop()
        seen |= modes(data_dir)
    names = {Path(p).name for p in seen}
    for expected in ("api_key", "asyncml.db", "asyncml.db-wal", "asyncml.db-shm", "transforms", "manifests"):
        assert expected in names, f"{expected} was never written: {sorted(names)}"
    assert any(p.endswith(".csv.out") for p in seen) and any(p.endswith(".csv") for p in seen)
    assert any(p.startswith("transforms/") and p.endswith(".json") for p in seen)
    wrong = {
        path: oct(mode)
        for path, mode in seen.items()
        if mode != (0o700 if (data_dir / path).is_dir() else 0o600)
    }
    assert wrong == {}
