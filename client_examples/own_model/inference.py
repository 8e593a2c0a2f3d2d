"""A SageMaker entry point for the model `train.py` writes: the same file runs locally and on SageMaker.

    asyncml serve --entry-point client_examples/own_model/inference.py --model-dir model/

Input: one iris record per CSV line (sepal length, sepal width, petal length, petal width, in cm).
Output: one class name per line (`setosa`, `versicolor`, `virginica`), so Batch Transform's join puts
each answer beside its record.

Only `model_fn` is required. `predict_fn` (`model.predict`) and `output_fn` (CSV via numpy, one line per
row) are SageMaker's defaults; `input_fn` is written out for one reason, below.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import joblib
import numpy as np


def model_fn(model_dir: str) -> Any:
    """Called once when the model server starts; `model_dir` is /opt/ml/model on SageMaker."""
    return joblib.load(Path(model_dir) / "model.joblib")


def input_fn(body: str, content_type: str) -> Any:
    if content_type != "text/csv":
        raise ValueError(f"this model reads text/csv, not {content_type}")
    # The default input_fn decodes a one-line request to a 1-D array, which scikit-learn refuses
    # ("Expected 2D array"): a batch of one job would fail. ndmin=2 keeps one line one row.
    return np.genfromtxt(io.StringIO(body), delimiter=",", ndmin=2)
