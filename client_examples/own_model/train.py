"""Train a small scikit-learn model and write it into a model dir, as a SageMaker training job would.

    python client_examples/own_model/train.py --model-dir model/

The model dir then holds `model.joblib`: what `inference.py`'s `model_fn(model_dir)` loads, locally
(`asyncml serve --model-dir model/`) and on SageMaker (the root of `model.tar.gz`, unpacked into
/opt/ml/model). Iris ships with scikit-learn, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # SM_MODEL_DIR: where a SageMaker training job wants the artifacts, so this script runs there too.
    parser.add_argument("--model-dir", type=Path, default=Path(os.environ.get("SM_MODEL_DIR", "model")))
    args = parser.parse_args()
    iris = load_iris()
    labels = iris.target_names[iris.target]  # the model predicts names, not class numbers
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, labels)
    args.model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.model_dir / "model.joblib")
    score = model.score(iris.data, labels)
    print(f"wrote {args.model_dir / 'model.joblib'} (accuracy on its training data: {score:.2f})")


if __name__ == "__main__":
    main()
