"""Weir demo: a small but real machine-learning pipeline on scikit-learn's
bundled handwritten-digits dataset, written with the Kubeflow Pipelines v2 SDK.

    load_data -> preprocess -> ParallelFor(configs, parallelism=2):
                                   train_and_evaluate
                            -> pick_best (fan-in with dsl.Collected)
                            -> If(best_accuracy > threshold): register_model
                               Else:                          report_rejection

The digits dataset ships inside the scikit-learn wheel, so nothing is
downloaded at run time apart from the pip packages listed below.

Recompile with:  python digits.py   (needs `pip install kfp==2.17.0`)
"""

import os
from typing import List, NamedTuple

from kfp import compiler, dsl
from kfp.dsl import (
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)

BASE_IMAGE = "python:3.11"

# Exact pins that have CPython 3.11 manylinux wheels on PyPI.
ML_PACKAGES = [
    "numpy==2.3.5",
    "scipy==1.17.1",
    "scikit-learn==1.7.2",
]

# One dict per model to train. "kind" picks the estimator; the other keys are
# its hyperparameters. Each one trains in well under a second on one core.
DEFAULT_CONFIGS = [
    {"name": "logreg-c0.01", "kind": "logreg", "C": 0.01},
    {"name": "logreg-c1", "kind": "logreg", "C": 1.0},
    {"name": "svc-rbf-c5", "kind": "svc", "C": 5.0},
    {"name": "knn-3", "kind": "knn", "n_neighbors": 3},
]


@dsl.component(base_image=BASE_IMAGE, packages_to_install=ML_PACKAGES)
def load_data(raw: Output[Dataset]):
    """Writes the 8x8 digits images as a CSV: 64 pixel columns and a label."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    features = digits.data
    labels = digits.target
    header = ",".join([f"pixel_{i}" for i in range(features.shape[1])] + ["label"])
    table = np.column_stack([features, labels])
    np.savetxt(raw.path, table, delimiter=",", header=header, comments="", fmt="%g")

    raw.metadata["rows"] = int(features.shape[0])
    raw.metadata["features"] = int(features.shape[1])
    raw.metadata["classes"] = int(len(np.unique(labels)))
    raw.metadata["format"] = "csv"
    print(f"wrote {features.shape[0]} rows x {features.shape[1]} features to {raw.path}")


@dsl.component(base_image=BASE_IMAGE, packages_to_install=ML_PACKAGES)
def preprocess(
    raw: Input[Dataset],
    test_fraction: float,
    seed: int,
    train: Output[Dataset],
    test: Output[Dataset],
):
    """Stratified train/test split, then standard scaling fitted on train only."""
    import numpy as np
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    with open(raw.path) as f:
        header = f.readline().strip()
    table = np.loadtxt(raw.path, delimiter=",", skiprows=1)
    features, labels = table[:, :-1], table[:, -1].astype(int)

    x_train, x_test, y_train, y_test = train_test_split(
        features,
        labels,
        test_size=test_fraction,
        random_state=int(seed),
        stratify=labels,
    )
    scaler = StandardScaler().fit(x_train)
    x_train = scaler.transform(x_train)
    x_test = scaler.transform(x_test)

    for artifact, x, y in ((train, x_train, y_train), (test, x_test, y_test)):
        np.savetxt(
            artifact.path,
            np.column_stack([x, y]),
            delimiter=",",
            header=header,
            comments="",
            fmt="%.6g",
        )
        artifact.metadata["rows"] = int(x.shape[0])
        artifact.metadata["features"] = int(x.shape[1])
        artifact.metadata["seed"] = int(seed)
        artifact.metadata["format"] = "csv"
    print(f"train: {x_train.shape[0]} rows, test: {x_test.shape[0]} rows")


@dsl.component(base_image=BASE_IMAGE, packages_to_install=ML_PACKAGES)
def train_and_evaluate(
    train: Input[Dataset],
    test: Input[Dataset],
    config: dict,
    roc_class: int,
    model: Output[Model],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
) -> NamedTuple("Outputs", [("accuracy", float), ("name", str)]):
    """Fits one configuration and evaluates it on the held-out split."""
    import json
    import pickle
    import time
    from collections import namedtuple

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_curve
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
    from threadpoolctl import threadpool_limits

    def load(path):
        table = np.loadtxt(path, delimiter=",", skiprows=1)
        return table[:, :-1], table[:, -1].astype(int)

    x_train, y_train = load(train.path)
    x_test, y_test = load(test.path)

    kind = config.get("kind", "logreg")
    name = str(config.get("name", kind))
    if kind == "logreg":
        estimator = LogisticRegression(C=float(config.get("C", 1.0)), max_iter=2000)
    elif kind == "svc":
        estimator = SVC(C=float(config.get("C", 1.0)), gamma=config.get("gamma", "scale"))
    elif kind == "knn":
        estimator = KNeighborsClassifier(n_neighbors=int(config.get("n_neighbors", 5)))
    else:
        raise ValueError(f"unknown model kind {kind!r} in config {config}")

    # One BLAS thread: the loop runs two of these side by side, and letting
    # each grab every core makes the small fits many times slower.
    with threadpool_limits(limits=1):
        started = time.time()
        estimator.fit(x_train, y_train)
        train_seconds = time.time() - started

    predicted = estimator.predict(x_test)
    accuracy = float(accuracy_score(y_test, predicted))
    f1_macro = float(f1_score(y_test, predicted, average="macro"))
    print(f"{name}: accuracy={accuracy:.4f} f1_macro={f1_macro:.4f} ({train_seconds:.2f}s)")

    with open(model.path, "wb") as f:
        pickle.dump(estimator, f)
    model.metadata["framework"] = "scikit-learn"
    model.metadata["name"] = name
    model.metadata["config"] = json.dumps(config, sort_keys=True)
    model.metadata["accuracy"] = accuracy

    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("f1_macro", f1_macro)
    metrics.log_metric("train_seconds", round(train_seconds, 4))
    metrics.log_metric("test_rows", int(len(y_test)))

    labels = list(range(10))
    matrix = confusion_matrix(y_test, predicted, labels=labels)
    classification.log_confusion_matrix(
        [str(label) for label in labels],
        [[int(cell) for cell in row] for row in matrix],
    )

    # One-vs-rest ROC curve for a single digit.
    roc_class = int(roc_class)
    class_index = list(estimator.classes_).index(roc_class)
    if hasattr(estimator, "predict_proba"):
        scores = estimator.predict_proba(x_test)[:, class_index]
    else:
        scores = estimator.decision_function(x_test)[:, class_index]
    fpr, tpr, thresholds = roc_curve(y_test == roc_class, scores)
    # sklearn's first threshold is +inf ("predict nothing positive"); metadata
    # must be plain JSON numbers, so put it just above the highest real score.
    finite = thresholds[np.isfinite(thresholds)]
    ceiling = float(finite.max()) + 1.0 if finite.size else 1.0
    thresholds = np.where(np.isfinite(thresholds), thresholds, ceiling)
    # Keep at most 50 points, always including both ends of the curve.
    keep = np.unique(np.linspace(0, len(fpr) - 1, num=min(len(fpr), 50)).round().astype(int))
    classification.log_roc_curve(
        [round(float(v), 6) for v in fpr[keep]],
        [round(float(v), 6) for v in tpr[keep]],
        [round(float(v), 6) for v in thresholds[keep]],
    )
    classification.metadata["rocClass"] = roc_class

    outputs = namedtuple("Outputs", ["accuracy", "name"])
    return outputs(accuracy, name)


@dsl.component(base_image=BASE_IMAGE)
def pick_best(
    accuracies: List[float],
    models: Input[List[Model]],
    best_model: Output[Model],
) -> NamedTuple(
    "Outputs", [("best_accuracy", float), ("best_index", int), ("best_config", dict)]
):
    """Fan-in: chooses the most accurate of the trained models."""
    import json
    import shutil
    from collections import namedtuple

    # Values can arrive as floats or numeric strings depending on the runner.
    scores = [float(a) for a in accuracies]
    if not scores or len(scores) != len(models):
        raise ValueError(f"got {len(scores)} accuracies for {len(models)} models")
    print("collected accuracies:", scores)

    best_index = max(range(len(scores)), key=lambda i: scores[i])
    # Each model also carries its own accuracy. If the two collected lists were
    # gathered in different orders, trust the artifact metadata.
    if all("accuracy" in m.metadata for m in models):
        by_metadata = [float(m.metadata["accuracy"]) for m in models]
        if by_metadata != scores:
            print("accuracy list and model metadata disagree; using metadata")
            best_index = max(range(len(models)), key=lambda i: by_metadata[i])
            scores = by_metadata

    chosen = models[best_index]
    best_accuracy = scores[best_index]
    best_config = json.loads(chosen.metadata.get("config", "{}"))

    shutil.copyfile(chosen.path, best_model.path)
    best_model.metadata.update(chosen.metadata)
    best_model.metadata["source_uri"] = chosen.uri
    best_model.metadata["candidates"] = len(models)
    print(f"best: #{best_index} {best_config} accuracy={best_accuracy:.4f}")

    outputs = namedtuple("Outputs", ["best_accuracy", "best_index", "best_config"])
    return outputs(best_accuracy, best_index, best_config)


@dsl.component(base_image=BASE_IMAGE)
def register_model(
    model: Input[Model],
    accuracy: float,
    config: dict,
    threshold: float,
    registry_entry: Output[Model],
    model_card: Output[Markdown],
):
    """Copies the winning model into a "registry" folder with a JSON card."""
    import datetime
    import json
    import os
    import shutil

    os.makedirs(registry_entry.path, exist_ok=True)
    shutil.copyfile(model.path, os.path.join(registry_entry.path, "model.pkl"))
    card = {
        "name": "digits-classifier",
        "framework": model.metadata.get("framework", "scikit-learn"),
        "config": config,
        "accuracy": accuracy,
        "threshold": threshold,
        "source_uri": model.uri,
        "registered_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    with open(os.path.join(registry_entry.path, "card.json"), "w") as f:
        json.dump(card, f, indent=2, sort_keys=True)
    registry_entry.metadata["accuracy"] = accuracy
    registry_entry.metadata["config"] = json.dumps(config, sort_keys=True)
    registry_entry.metadata["stage"] = "approved"

    rows = "\n".join(f"| `{k}` | `{v}` |" for k, v in sorted(config.items()))
    markdown = (
        "# Digits classifier\n\n"
        f"Accepted: test accuracy **{accuracy:.4f}** is above the threshold "
        f"{threshold:.4f}.\n\n"
        "| hyperparameter | value |\n|---|---|\n"
        f"{rows}\n\n"
        f"Model source: `{model.uri}`\n"
    )
    with open(model_card.path, "w") as f:
        f.write(markdown)
    print(markdown)


@dsl.component(base_image=BASE_IMAGE)
def report_rejection(accuracy: float, threshold: float, config: dict):
    print(
        f"Not registering the model: best accuracy {accuracy:.4f} "
        f"(config {config}) is not above the threshold {threshold:.4f}."
    )


@dsl.pipeline(
    name="digits-classifier",
    description="Trains several scikit-learn classifiers on the digits dataset in "
    "parallel and registers the best one if it is accurate enough.",
)
def digits_pipeline(
    configs: List[dict] = DEFAULT_CONFIGS,
    threshold: float = 0.9,
    test_fraction: float = 0.25,
    seed: int = 42,
    roc_class: int = 0,
):
    data = load_data().set_display_name("load digits")
    split = preprocess(
        raw=data.outputs["raw"], test_fraction=test_fraction, seed=seed
    ).set_display_name("scale and split")

    with dsl.ParallelFor(configs, parallelism=2, name="configs") as config:
        trained = train_and_evaluate(
            train=split.outputs["train"],
            test=split.outputs["test"],
            config=config,
            roc_class=roc_class,
        ).set_display_name("train and evaluate")

    best = pick_best(
        accuracies=dsl.Collected(trained.outputs["accuracy"]),
        models=dsl.Collected(trained.outputs["model"]),
    ).set_display_name("pick best")

    with dsl.If(best.outputs["best_accuracy"] > threshold, name="good-enough"):
        register_model(
            model=best.outputs["best_model"],
            accuracy=best.outputs["best_accuracy"],
            config=best.outputs["best_config"],
            threshold=threshold,
        ).set_display_name("register model")
    with dsl.Else(name="not-good-enough"):
        report_rejection(
            accuracy=best.outputs["best_accuracy"],
            threshold=threshold,
            config=best.outputs["best_config"],
        ).set_display_name("report rejection")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    compiler.Compiler().compile(digits_pipeline, os.path.join(here, "digits.yaml"))
