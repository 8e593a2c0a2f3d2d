"""The layout's promises: the core imports no I/O library and no runtime; heavy libraries stay in corners."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = sorted((ROOT / "asyncml").glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def imported_module_paths(path: Path) -> set[str]:
    """Every module `path` imports, dotted in full: `from asyncml import local` and, inside the
    package, `from .local import x` both count as asyncml.local."""
    package = path.relative_to(ROOT).parent.parts
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            # A relative import climbs from the file's package (level 1 is the package itself).
            parent = package[: len(package) - node.level + 1] if node.level else ()
            base = ".".join([*parent, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("path", [p for p in CORE if p.name != "cli.py"], ids=lambda p: p.name)
def test_core_imports_no_runtime_only_the_cli_picks_one(path: Path) -> None:
    # The core is handed its adapters (STYLE: one wiring per runtime); the CLI starts the local one.
    runtimes = {
        n
        for n in imported_module_paths(path)
        if n.split(".")[:2] in (["asyncml", "local"], ["asyncml", "aws"])
    }
    assert not runtimes, f"{path.name} imports {sorted(runtimes)}"


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_imports_no_boto3_strawberry_or_sqlite(path: Path) -> None:
    assert not imported_modules(path) & {"boto3", "botocore", "strawberry", "sqlite3", "sklearn", "httpx"}


def test_boto3_appears_only_under_aws_and_sklearn_only_in_the_demo_model() -> None:
    for path in sorted((ROOT / "asyncml").rglob("*.py")):
        mods = imported_modules(path)
        rel = path.relative_to(ROOT).as_posix()
        if "boto3" in mods or "botocore" in mods:
            assert rel.startswith("asyncml/aws/"), rel
        if "sklearn" in mods:
            assert rel == "asyncml/transform_emulator/demo_model.py", rel


@pytest.mark.parametrize("folder", ["resolvers", "workers"])
def test_handlers_touch_no_aws_sdk_or_environment(folder: str) -> None:
    for path in sorted((ROOT / folder).glob("*.py")):
        source = path.read_text()
        assert not imported_modules(path) & {"boto3", "botocore", "sqlite3"}, path.name
        assert "os.environ" not in source and "getenv" not in source, path.name


def test_the_transform_emulator_imports_nothing_else_of_asyncml() -> None:
    # It could ship as its own distribution: SageMaker's Batch Transform on one machine.
    package = ROOT / "asyncml" / "transform_emulator"
    paths = sorted(package.rglob("*.py"))
    assert paths, "asyncml/transform_emulator/ is missing"
    for path in paths:
        mods = {m for m in imported_module_paths(path) if m.split(".")[0] == "asyncml"}
        assert all(m.startswith("asyncml.transform_emulator") for m in mods), (path.name, mods)
