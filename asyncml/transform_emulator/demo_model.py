"""[4] transform: the bundled demo model, an iris classifier, written as a SageMaker entry point.

`model_server` serves it like any user's `inference.py` (it is the entry point used when none is
given). Input records carry 4 numbers (sepal length, sepal width, petal length, petal width, in cm):
- `text/csv`: `5.1,3.5,1.4,0.2` per line;
- `application/jsonlines`: `[5.1, 3.5, 1.4, 0.2]` or `{"features": [5.1, 3.5, 1.4, 0.2]}` per line.
Output, one line per input line, in the Accept type (without one: SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT,
else application/json, which this model answers as JSON Lines):
- `text/csv`: `setosa,0.97...,0.02...,0.00...` (class name, then one probability per class);
- `application/jsonlines`: `{"label": "setosa", "probabilities": {"setosa": 0.97, ...}}`.
A malformed record gets a placeholder (`ERROR`, or `{"error": "..."}` in JSON Lines) so lines stay
aligned with the input, as SageMaker advises for custom containers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from asyncml.transform_emulator.model_server import ModelProcess, start_model

CSV, JSONL = "text/csv", "application/jsonlines"
# What the container prefers; a request's own values win (SageMaker's precedence).
EXECUTION_PARAMETERS = {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}
_BAD = "expected 4 numeric features"


class IrisModel:
    """scikit-learn LogisticRegression trained on the iris data that ships with scikit-learn (no download)."""

    def __init__(self) -> None:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        iris = load_iris()
        self.classes: list[str] = [str(name) for name in iris.target_names]
        self._model = LogisticRegression(max_iter=1000).fit(iris.data, iris.target)

    def predict_lines(self, text: str, content_type: str, accept: str) -> str:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the payload's final newline ends the last record
        parse = _parse_csv if content_type == CSV else _parse_json
        rows = [parse(line) for line in lines]
        good = [row for row in rows if row is not None]
        probs = iter(self._model.predict_proba(good).tolist() if good else [])
        out = []
        for row in rows:
            if row is None:
                out.append("ERROR" if accept == CSV else json.dumps({"error": _BAD}))
                continue
            p = next(probs)
            label = self.classes[max(range(len(p)), key=p.__getitem__)]
            if accept == CSV:
                out.append(label + "," + ",".join(f"{x:.6f}" for x in p))
            else:
                scores = {name: round(x, 6) for name, x in zip(self.classes, p, strict=True)}
                out.append(json.dumps({"label": label, "probabilities": scores}))
        return "".join(line + "\n" for line in out)


def _features(values: Any) -> list[float] | None:
    if not isinstance(values, list) or len(values) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


def _parse_csv(line: str) -> list[float] | None:
    try:
        return _features([float(v) for v in line.split(",")])
    except ValueError:
        return None


def _parse_json(line: str) -> list[float] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return _features(value.get("features") if isinstance(value, dict) else value)


# ---- the entry point: what SageMaker's framework containers call (see entry_point.py) ----------------
def model_fn(model_dir: str) -> IrisModel:
    """The demo trains at load (milliseconds on iris); it reads nothing from its model dir."""
    return IrisModel()


def transform_fn(model: IrisModel, data: str | bytes, content_type: str, accept: str) -> tuple[str, str]:
    from asyncml.transform_emulator.serialization import UnsupportedFormat

    formats = (CSV, JSONL, "application/json")
    for given in (content_type, accept):
        if given not in formats:
            raise UnsupportedFormat(given, formats)
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    kind = CSV if content_type == CSV else JSONL
    out_kind = CSV if accept == CSV else JSONL
    return model.predict_lines(text, kind, out_kind), accept


def execution_parameters_fn() -> dict[str, Any]:
    return EXECUTION_PARAMETERS


# ---- as a process, for tests and benchmarks that want the demo without the rest of the stack ------
DemoModel = ModelProcess


def start_demo_model(
    port: int = 0, *, environment: Mapping[str, str] | None = None, timeout_s: float = 30.0
) -> ModelProcess:
    """The demo in its own process (`model_server.start_model` with the demo as the entry point)."""
    return start_model(None, port=port, environment=environment, timeout_s=timeout_s)
