"""The dashboard's JS modules (URL rules, merge rules, CSV chunks, the real-time client), run by node."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).parent / "js"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: the dashboard's JS module tests need it")
def test_dashboard_modules_pass_their_node_tests() -> None:
    tests = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    run = subprocess.run(
        [str(NODE), "--test", *tests], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout
