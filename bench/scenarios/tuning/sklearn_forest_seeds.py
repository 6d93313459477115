#!/usr/bin/env python3
"""scikit-learn's own spread over random_state on the night-transfers scenario (tuning aid, not part of the bench).

    /usr/bin/python3 bench/scenarios/tuning/sklearn_forest_seeds.py 42,1,2,3,4,5 10 [SCENARIO_DIR]

Generator seeds (their files as the bench writes them: DIR for 42, DIR-seed-N otherwise), then how many
random_state values (0..N-1); prints ROC-AUC and PR-AUC mean, min and max per generator seed.
"""
import os
import tempfile
import sys, numpy as np, pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
BASE = sys.argv[3] if len(sys.argv) > 3 else os.path.join(tempfile.gettempdir(), 'secureflow-bench', 'scenarios')
F = ["amount", "hour", "day_of_week", "merchant_category", "transaction_type"]
for ds in sys.argv[1].split(','):
    d = BASE if ds == '42' else f'{BASE}-seed-{ds}'
    tr = pd.read_csv(f'{d}/night-transfers-train.csv'); te = pd.read_csv(f'{d}/night-transfers-test.csv')
    rs = []
    for r in range(int(sys.argv[2])):
        m = IsolationForest(n_estimators=100, max_samples=256, contamination='auto', random_state=r).fit(tr[F].values)
        s = -m.score_samples(te[F].values)
        rs.append((roc_auc_score(te.is_fraud, s), average_precision_score(te.is_fraud, s)))
    a = np.array(rs)
    print(ds, 'roc mean %.4f min %.4f max %.4f | pr mean %.4f min %.4f max %.4f' % (a[:,0].mean(), a[:,0].min(), a[:,0].max(), a[:,1].mean(), a[:,1].min(), a[:,1].max()), flush=True)
