"""Settings: the model flags and each_job_end (and their ASYNCML_* variables), checked before a start."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncml.cli import build_parser
from asyncml.errors import ValidationError
from asyncml.settings import Settings


@pytest.fixture
def own(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    (tmp_path / "model").mkdir()
    return tmp_path / "inference.py", tmp_path / "model"


def test_entry_point_and_model_dir_come_from_asyncml_variables(own: tuple[Path, Path]) -> None:
    env = {"ASYNCML_ENTRY_POINT": str(own[0]), "ASYNCML_MODEL_DIR": str(own[1])}
    settings = Settings.from_env(env)
    assert (settings.entry_point, settings.model_dir) == own


@pytest.mark.parametrize(
    ("flags", "field", "says"),
    [
        ({"entry_point": "ENTRY"}, "model_dir", "--model-dir is missing"),
        ({"model_dir": "MODEL"}, "entry_point", "--entry-point is missing"),
        ({"entry_point": "ENTRY", "model_dir": "NOPE"}, "model_dir", "does not exist"),
        ({"entry_point": "NOPE", "model_dir": "MODEL"}, "entry_point", "does not exist"),
        ({"entry_point": "ENTRY", "model_dir": "MODEL", "model_url": "http://x"}, "model_url", "exclude"),
    ],
)
def test_a_model_flag_that_cannot_work_is_refused_naming_it(
    own: tuple[Path, Path], flags: dict[str, str], field: str, says: str
) -> None:
    paths = {"ENTRY": own[0], "MODEL": own[1], "NOPE": own[1].parent / "nope"}
    values = {k: paths.get(v, v) for k, v in flags.items()}
    with pytest.raises(ValidationError) as error:
        Settings.from_env({}, **values)
    assert error.value.field == field and says in error.value.message


@pytest.mark.parametrize(
    ("env", "argv", "each_job_end"),
    [
        ({}, [], False),  # grouped ends only: no onJobUpdated unless asked
        ({"ASYNCML_EACH_JOB_END": "true"}, [], True),
        ({"ASYNCML_EACH_JOB_END": "false"}, [], False),
        ({}, ["--each-job-end"], True),
        ({"ASYNCML_EACH_JOB_END": "true"}, ["--no-each-job-end"], False),  # the flag wins
    ],
)
def test_each_job_end_is_off_unless_the_variable_or_the_flag_turns_it_on(
    env: dict[str, str], argv: list[str], each_job_end: bool
) -> None:
    args = build_parser().parse_args(["serve", *argv])
    assert Settings.from_env(env, each_job_end=args.each_job_end).each_job_end is each_job_end


def test_a_bad_each_job_end_value_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValidationError) as error:
        Settings.from_env({"ASYNCML_EACH_JOB_END": "sometimes"})
    assert error.value.field == "each_job_end" and "ASYNCML_EACH_JOB_END='sometimes'" in error.value.message
