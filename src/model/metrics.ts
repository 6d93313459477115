/** Quality of anomaly scores against labels (1 = anomaly, 0 = normal). */
export interface EvaluationMetrics {
  roc_auc: number;
  pr_auc: number;
  precision: number;
  recall: number;
  f1: number;
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  rows: number;
}

/** ROC-AUC as the Mann-Whitney statistic, ties counted as half. NaN when one class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = sortedOrder(scores);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] ? 1 : 0;
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  // Sum of the positives' ranks, with tied scores given their average rank.
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]]) rankSum += avgRank;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Average precision (scikit-learn's PR-AUC): sum over distinct score thresholds of (R_n - R_n-1) * P_n. */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = sortedOrder(scores).reverse();
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] ? 1 : 0;
  if (pos === 0) return NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]] === scores[order[i]]) j++;
    for (let k = i; k <= j; k++) tp += labels[order[k]] ? 1 : 0;
    seen += j - i + 1;
    const recall = tp / pos;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
    i = j + 1;
  }
  return ap;
}

export function evaluateScores(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): EvaluationMetrics {
  let tp = 0,
    fp = 0,
    tn = 0,
    fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i] >= threshold;
    if (labels[i]) flagged ? tp++ : fn++;
    else flagged ? fp++ : tn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    roc_auc: rocAuc(scores, labels),
    pr_auc: averagePrecision(scores, labels),
    precision,
    recall,
    f1,
    threshold,
    tp,
    fp,
    tn,
    fn,
    rows: scores.length,
  };
}

function sortedOrder(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[a] - scores[b] || a - b);
}
