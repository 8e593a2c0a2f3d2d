"""The wheel a user installs: built without deprecation warnings, and carrying GraphiQL's files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Build from a copy of the sources, so no build/ or egg-info lands in the work tree."""
    src = tmp_path_factory.mktemp("src")
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copy(ROOT / "README.md", src)
    shutil.copytree(ROOT / "asyncml", src / "asyncml", ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-v", "-w", "dist", "."]
    done = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    [wheel] = (src / "dist").glob("asyncml-*.whl")
    return done.stdout + done.stderr, wheel


def test_the_wheel_builds_without_deprecation_warnings(build: tuple[str, Path]) -> None:
    log, _ = build
    assert "Deprecat" not in log and "deprecated" not in log, log


def test_the_wheel_carries_graphiql_so_it_works_offline_from_a_plain_install(build: tuple[str, Path]) -> None:
    _, wheel = build
    names = set(zipfile.ZipFile(wheel).namelist())
    static = "asyncml/local/api/static/graphiql/"
    for name in ("index.html", "asyncml-graphiql.js", "graphiql.min.js", "graphiql.min.css"):
        assert static + name in names, name
    assert {static + "react.production.min.js", static + "react-dom.production.min.js"} <= names
    assert static + "LICENSE.graphiql" in names
