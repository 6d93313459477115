#!/usr/bin/env python3
"""scikit-learn's whole process on a CSV file, as the original system ran it, to time beside `secureflow score`.

    /usr/bin/python3 bench/sklearn/end_to_end.py fit MODEL.pkl TRAIN.csv
    /usr/bin/python3 bench/sklearn/end_to_end.py score MODEL.pkl IN.csv OUT.csv

`fit`: StandardScaler + IsolationForest(n_estimators=100, max_samples=256, contamination=0.1, random_state=42) on
the five features of TRAIN.csv, pickled. `score` (the timed part, the process from start to exit): read IN.csv with
pandas, scale, score_samples and predict, write the input columns with anomaly_score (-score_samples, higher = more
anomalous) and is_anomaly to OUT.csv. bench/sections/cli.mjs runs it when Debian's python3-sklearn is installed
(`apt-get install python3-sklearn python3-pandas`); Python is not a dependency of secureflow or of its tests.
"""

import pickle
import sys

import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ["amount", "hour", "day_of_week", "merchant_category", "transaction_type"]


def fit(model_path, train_path):
    x = pd.read_csv(train_path)[FEATURES].to_numpy(dtype=float)
    forest = IsolationForest(n_estimators=100, max_samples=256, contamination=0.1, random_state=42)
    pipeline = make_pipeline(StandardScaler(), forest).fit(x)
    with open(model_path, "wb") as f:
        pickle.dump(pipeline, f)


def score(model_path, in_path, out_path):
    with open(model_path, "rb") as f:
        pipeline = pickle.load(f)
    frame = pd.read_csv(in_path)
    x = frame[FEATURES].to_numpy(dtype=float)
    frame["anomaly_score"] = -pipeline.score_samples(x)
    frame["is_anomaly"] = pipeline.predict(x) == -1
    frame.to_csv(out_path, index=False, float_format="%.6f")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "fit":
        fit(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
