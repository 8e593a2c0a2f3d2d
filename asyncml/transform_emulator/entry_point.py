"""[4] transform: a SageMaker entry point (`inference.py`) loaded and called as its framework container would.

Like SageMaker's scikit-learn container and inference toolkit: `model_fn(model_dir)` is required;
`input_fn(body, content_type)`, `predict_fn(data, model)` and `output_fn(prediction, accept)` default to
the toolkit's (numpy codecs, `model.predict`); `transform_fn(model, body, content_type, accept)`
replaces those three; an `output_fn` / `transform_fn` may return the body or `(body, content_type)`;
`execution_parameters_fn()` answers `GET /execution-parameters`. A handler that takes one more argument
gets the toolkit's `context` as None (there is no model-server context outside the container).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from asyncml.transform_emulator import serialization
from asyncml.transform_emulator.serialization import UTF8_TYPES, UnsupportedFormat

# The variables a framework container reads (SageMaker sets them from the Model's environment).
PROGRAM, SUBMIT_DIRECTORY, MODEL_DIR = "SAGEMAKER_PROGRAM", "SAGEMAKER_SUBMIT_DIRECTORY", "SM_MODEL_DIR"
DEFAULT_ACCEPT = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
CONTAINER_MODEL_DIR = "/opt/ml/model"


class EntryPointError(Exception):
    """The entry point cannot serve; the message names the file and the function."""


class InvocationFailed(Exception):
    """A handler raised: the invocation answers `status` with the exception's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class EntryPoint:
    program: Path  # the entry point file
    model_dir: Path  # what model_fn gets: the unpacked model.tar.gz on SageMaker

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> EntryPoint | None:
        """As the container finds it: SAGEMAKER_PROGRAM in SAGEMAKER_SUBMIT_DIRECTORY (default
        SM_MODEL_DIR/code), SM_MODEL_DIR (default /opt/ml/model). None without SAGEMAKER_PROGRAM."""
        if not env.get(PROGRAM):
            return None
        model_dir = Path(env.get(MODEL_DIR) or CONTAINER_MODEL_DIR)
        code_dir = Path(env.get(SUBMIT_DIRECTORY) or model_dir / "code")
        return cls(code_dir / env[PROGRAM], model_dir)

    def environment(self) -> dict[str, str]:
        """The container variables for a process serving this entry point."""
        return {
            PROGRAM: self.program.name,
            SUBMIT_DIRECTORY: str(self.program.resolve().parent),
            MODEL_DIR: str(self.model_dir.resolve()),
        }


class Handlers:
    """The entry point's functions with the defaults filled in, and the model model_fn returned."""

    def __init__(self, module: ModuleType, entry: EntryPoint, default_accept: str) -> None:
        name = entry.program.name
        if not callable(getattr(module, "model_fn", None)):
            raise EntryPointError(f"{entry.program}: defines no model_fn(model_dir); SageMaker requires one")
        own = {f: getattr(module, f) for f in ("input_fn", "predict_fn", "output_fn") if hasattr(module, f)}
        transform_fn = getattr(module, "transform_fn", None)
        if transform_fn is not None and own:
            raise EntryPointError(
                f"{entry.program}: transform_fn cannot be used with {', '.join(sorted(own))}"
                " (SageMaker refuses the combination); keep one or the other"
            )
        self.default_accept = default_accept
        self.program = name
        self._input = _handler(own.get("input_fn", serialization.decode), 2)
        self._predict = _handler(own.get("predict_fn", _default_predict), 2)
        self._output = _handler(own.get("output_fn", serialization.encode), 2)
        self._transform = _handler(transform_fn, 4) if transform_fn else None
        self._parameters = getattr(module, "execution_parameters_fn", None)
        try:
            self.model = _handler(module.model_fn, 1)(str(entry.model_dir))
        except Exception as exc:
            raise EntryPointError(
                f"{_where(exc, entry.program)}: model_fn({str(entry.model_dir)!r}) raised {_describe(exc)}"
            ) from exc

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """One /invocations request -> (body, content type); InvocationFailed when a handler raised."""
        accept = self.default_accept if accept in ("", "*/*") else accept
        try:
            data: str | bytes = body.decode("utf-8") if content_type in UTF8_TYPES else body
            if self._transform is not None:
                result = self._transform(self.model, data, content_type, accept)
            else:
                prediction = self._predict(self._input(data, content_type), self.model)
                result = self._output(prediction, accept)
        except UnsupportedFormat as exc:
            raise InvocationFailed(415, str(exc)) from exc
        except Exception as exc:
            raise InvocationFailed(500, _describe(exc)) from exc
        answer, answer_type = result if isinstance(result, tuple) else (result, accept)
        return _as_bytes(answer, self.program), str(answer_type)

    def execution_parameters(self) -> dict[str, Any] | None:
        if self._parameters is None:
            return None
        value = self._parameters()
        value = json.loads(value) if isinstance(value, str | bytes) else value
        return value if isinstance(value, dict) else None


def load(entry: EntryPoint, env: Mapping[str, str]) -> Handlers:
    """Import the entry point and run its model_fn; EntryPointError naming the file and the function."""
    if not entry.model_dir.is_dir():
        raise EntryPointError(f"model dir {entry.model_dir} does not exist (it is what model_fn gets)")
    if not entry.program.is_file():
        raise EntryPointError(f"entry point {entry.program} does not exist")
    return Handlers(_import(entry.program), entry, env.get(DEFAULT_ACCEPT) or serialization.JSON)


def _import(program: Path) -> ModuleType:
    name = program.stem
    spec = importlib.util.spec_from_file_location(name, program)
    if spec is None or spec.loader is None:
        raise EntryPointError(f"{program}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    # The container puts the code dir on sys.path, so an entry point can import its siblings. A
    # package's folder (the bundled demo) is left off: its modules would shadow top-level ones.
    if not (program.parent / "__init__.py").exists():
        sys.path.insert(0, str(program.resolve().parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise EntryPointError(f"{_where(exc, program)}: importing it raised {_describe(exc)}") from exc
    return module


def _handler(fn: Callable[..., Any], arity: int) -> Callable[..., Any]:
    """The toolkit's rule: a handler with one parameter more than SageMaker passes also gets `context`."""
    try:
        count = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return fn
    return (lambda *args: fn(*args, None)) if count == arity + 1 else fn


def _default_predict(data: Any, model: Any) -> Any:
    return model.predict(data)


def _as_bytes(answer: Any, program: str) -> bytes:
    if isinstance(answer, bytes | bytearray):
        return bytes(answer)
    if isinstance(answer, str):
        return answer.encode("utf-8")
    if isinstance(answer, list | dict):  # the model server JSON-encodes these
        return json.dumps(answer).encode("utf-8")
    raise InvocationFailed(
        500,
        f"{program}: output_fn returned {type(answer).__name__}; return str, bytes or (body, content_type)",
    )


def _where(exc: BaseException, program: Path) -> str:
    """`inference.py, line 7`: the entry point's own line nearest the error, when there is one."""
    if isinstance(exc, SyntaxError) and exc.lineno and exc.filename == str(program):
        return f"{program}, line {exc.lineno}"
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(program)]
    return f"{program}, line {lines[-1]}" if lines else str(program)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
