#!/usr/bin/env python3
"""scikit-learn's IsolationForest on the detection scenarios, measured once and recorded.

    node bench/scenarios/generators.mjs > /dev/null && \
      /usr/bin/python3 bench/scenarios/sklearn_baseline.py > bench/scenarios/sklearn-baseline.json

(/usr/bin/python3: Debian's, where `apt-get install python3-sklearn python3-pandas` puts scikit-learn.)

Reads the scenario CSVs the generators wrote (DIR/manifest.json; DIR defaults to the generators' default,
$TMPDIR/secureflow-bench/scenarios, or the first argument), fits
IsolationForest(n_estimators=100, max_samples=256, contamination='auto', random_state=42) on each train part's
five features as given (labels unused), scores the test part with -score_samples (higher = more anomalous) and
prints ROC-AUC and PR-AUC (average precision) per scenario as JSON, for the features as given ("raw") and with
log1p(amount) ("log1p_amount", scikit-learn's best effort); for the mixed scenario also by fraud kind (each kind
against all legitimate test rows). The bench reads the recorded JSON: Python is not a
dependency of the bench or of CI.
"""

import datetime
import hashlib
import json
import os
import platform
import sys
import tempfile

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

FEATURES = ["amount", "hour", "day_of_week", "merchant_category", "transaction_type"]
PARAMS = dict(n_estimators=100, max_samples=256, contamination="auto", random_state=42)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def metrics(y, score):
    return {"roc_auc": round(float(roc_auc_score(y, score)), 4), "pr_auc": round(float(average_precision_score(y, score)), 4)}


def scores(train, test, transform):
    model = IsolationForest(**PARAMS).fit(transform(train))
    return -model.score_samples(transform(test))


def raw(x):
    return x


def log1p_amount(x):
    x = x.copy()
    x[:, 0] = np.log1p(x[:, 0])
    return x


def measure(directory):
    """The scenarios of one generated directory: (manifest, {scenario: figures})."""
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    scenarios = {}
    for s in manifest["scenarios"]:
        train_path = os.path.join(directory, s["train"]["path"])
        test_path = os.path.join(directory, s["test"]["path"])
        for path, part in ((train_path, s["train"]), (test_path, s["test"])):
            if sha256(path) != part["sha256"]:
                sys.exit(f"{path} does not match the manifest: regenerate the scenarios")
        train = pd.read_csv(train_path)[FEATURES].to_numpy(dtype=float)
        test_frame = pd.read_csv(test_path)
        test = test_frame[FEATURES].to_numpy(dtype=float)
        y = test_frame["is_fraud"].to_numpy()
        by_variant = {name: scores(train, test, t) for name, t in (("raw", raw), ("log1p_amount", log1p_amount))}
        entry = {
            "train_sha256": s["train"]["sha256"],
            "test_sha256": s["test"]["sha256"],
            "test_rows": int(len(y)),
            "test_fraud": int(y.sum()),
        }
        for name, score in by_variant.items():
            entry[name] = metrics(y, score)
        if s["name"] == "mixed":
            # Each fraud kind against all legitimate test rows.
            kind = test_frame["fraud_kind"].to_numpy()
            entry["by_kind"] = {}
            for k in sorted(set(kind) - {"none"}):
                keep = (kind == k) | (kind == "none")
                entry["by_kind"][k] = {
                    name: metrics(kind[keep] == k, score[keep]) for name, score in by_variant.items()
                }
        scenarios[s["name"]] = entry
    return manifest, scenarios


def main():
    default_dir = os.path.join(tempfile.gettempdir(), "secureflow-bench", "scenarios")
    if len(sys.argv) > 2 and sys.argv[1] == "--seeds":
        # Other generator seeds, each in DEFAULT_DIR-seed-N (bench/sections/scenarios.mjs writes them there).
        seeds = [int(x) for x in sys.argv[2].split(",")]
        runs = {}
        for seed in seeds:
            manifest, scenarios = measure(f"{default_dir}-seed-{seed}")
            if manifest["seed"] != seed:
                sys.exit(f"{default_dir}-seed-{seed} holds seed {manifest['seed']}")
            runs[str(seed)] = scenarios
        out = header(manifest, "sklearn-baseline-seeds.json", f"--seeds {sys.argv[2]}")
        out["seeds"] = runs
    else:
        manifest, scenarios = measure(sys.argv[1] if len(sys.argv) > 1 else default_dir)
        out = header(manifest, "sklearn-baseline.json", "")
        out["seed"] = manifest["seed"]
        out["scenarios"] = scenarios
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


def header(manifest, target, args):
    generate = (
        "node bench/scenarios/generators.mjs > /dev/null"
        if not args
        else "BENCH_ONLY=scenarios node bench/run.mjs (writes the seeds' files)"
    )
    return {
        "command": f"{generate} && {sys.executable} bench/scenarios/sklearn_baseline.py{' ' + args if args else ''} "
        f"> bench/scenarios/{target}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "estimator": "IsolationForest(n_estimators=100, max_samples=256, contamination='auto', random_state=42)",
        "score": "-score_samples(test); ROC-AUC = roc_auc_score, PR-AUC = average_precision_score",
        "variants": {
            "raw": "the five features as given",
            "log1p_amount": "amount replaced by log1p(amount)",
        },
        "generator_version": manifest["generatorVersion"],
        "rows": manifest["rows"],
    }


if __name__ == "__main__":
    main()
