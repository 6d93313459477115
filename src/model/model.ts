import { CoalitionExplainer } from './coalition-shap.js';
import { RowEncoder } from './conditional.js';
import { FEATURE_COUNT, FEATURES, type FeatureName } from './features.js';
import { DenseForest } from './forest-score.js';
import { riskFactors, type RiskFactor } from './explain.js';
import type { ModelDocument } from './model-file.js';
import { anomalyScoreFromDepth } from './path-length.js';
import { percentileRank } from './quantiles.js';
import { ShapTable, shapTableBytes } from './shap-table.js';
import { expectedValue, prepareShapTree, TreeShapExplainer, type ShapTree } from './tree-shap.js';

/** The most memory explanation tables may take (see prepareBatchExplanations). */
export const MAX_TABLE_BYTES = 512 * 2 ** 20;

export interface Explanation {
  /** Exact Shapley values of the output, per feature; positive pushes toward anomaly. */
  shap: Record<FeatureName, number>;
  /** Expected output over the training data (TreeSHAP's base value). */
  base: number;
  /** The output explained: minus the mean path length over the trees. Sum of shap = output - base. */
  output: number;
  riskFactors: RiskFactor[];
}

/** A loaded model, ready to score and explain. Pure: no I/O. */
export class IsolationForestModel {
  readonly doc: ModelDocument;
  readonly version: string;
  readonly threshold: number;
  private readonly dense: DenseForest;
  /** Raw rows to the forest's columns (the five features, then any conditional features). */
  private readonly encoder: RowEncoder;
  /** Models with conditional features: a few rows, before the tables are built, by the 32 coalitions (coalition-shap.ts). */
  private coalitions: CoalitionExplainer | null = null;
  private encoded = new Float64Array(0);
  private shapTrees: ShapTree[] | null = null;
  private explainer: TreeShapExplainer | null = null;
  private shapTable: ShapTable | null = null;
  /** The tables would exceed their memory bound: not tried again. */
  private tablesRefused = false;
  private baseValue = 0;

  constructor(doc: ModelDocument, thresholdOverride?: number) {
    this.doc = doc;
    this.version = doc.id;
    this.threshold = thresholdOverride ?? doc.threshold;
    this.encoder = new RowEncoder(doc.features, doc.conditional ?? []);
    this.dense = new DenseForest(doc.forest.trees, doc.forest.heightLimit, this.encoder.width);
  }

  /** Whether the forest also splits on conditional features. */
  get conditional(): boolean {
    return this.encoder.width !== FEATURE_COUNT;
  }

  /** Encodes `count` raw rows into `work` when it is wide enough, else into the model's own buffer. */
  private encode(raw: Float64Array, count: number, work: Float64Array): Float64Array {
    const need = count * this.encoder.width;
    let x = work;
    if (x.length < need) {
      if (this.encoded.length < need) this.encoded = new Float64Array(need);
      x = this.encoded;
    }
    this.encoder.encode(raw, count, x);
    return x;
  }

  /** Anomaly scores of `count` raw rows (row-major, FEATURES order) into `out`. `work` is scratch space. */
  scoreRows(raw: Float64Array, count: number, out: Float64Array, work = new Float64Array(count * FEATURE_COUNT)): void {
    const x = this.encode(raw, count, work);
    out.fill(0, 0, count);
    this.dense.sumPathLengths(x, count, out);
    const trees = this.dense.trees;
    const normaliser = this.doc.forest.normaliser;
    for (let i = 0; i < count; i++) out[i] = anomalyScoreFromDepth(out[i] / trees, normaliser);
  }

  scoreOne(raw: ArrayLike<number>): number {
    const out = new Float64Array(1);
    this.scoreRows(Float64Array.from(raw), 1, out);
    return out[0];
  }

  /** risk_score: the percentage of training rows that scored lower. */
  riskScore(score: number): number {
    return percentileRank(this.doc.training.scoreQuantiles, score);
  }

  private thresholdRiskCache: number | null = null;
  get thresholdRisk(): number {
    this.thresholdRiskCache ??= this.riskScore(this.threshold);
    return this.thresholdRiskCache;
  }

  private prepareShap(): ShapTree[] {
    if (!this.shapTrees) {
      this.shapTrees = this.doc.forest.trees.map(prepareShapTree);
      const depth = Math.max(...this.shapTrees.map((t) => t.depth));
      if (this.conditional) this.coalitions = new CoalitionExplainer(this.encoder.reads, depth);
      else this.explainer = new TreeShapExplainer(depth);
      this.baseValue = this.shapTrees.reduce((s, t) => s + expectedValue(t), 0) / this.shapTrees.length;
    }
    return this.shapTrees;
  }

  /**
   * Switches explanations to the tabulated algorithm (shap-table.ts): some tens of milliseconds and
   * megabytes to build, then many times faster per row. Worth it for files, not for one transaction. Models
   * with conditional features too (their columns read two fields: about 1.5x the build time and 1.3x the memory
   * of a plain model's tables at the default sample size, then the same cost per row). Tables over `maxBytes`
   * (deep trees: e.g. 311 MB for a conditional model of sample size 4,096) are not built, and rows go one at a
   * time by the exact per-row algorithms. Returns whether the tables are there.
   */
  prepareBatchExplanations(maxBytes = MAX_TABLE_BYTES): boolean {
    if (!this.shapTable && !this.tablesRefused) {
      const trees = this.prepareShap();
      if (shapTableBytes(trees) > maxBytes) this.tablesRefused = true;
      else this.shapTable = new ShapTable(trees, this.encoder.reads);
    }
    return this.shapTable !== null;
  }

  /**
   * Exact Shapley values of `count` raw rows (FEATURES order) into `phi` (5 per row), with the sign and
   * scale of explain()'s `shap`. Uses the tabulated algorithm.
   */
  explainRows(raw: Float64Array, count: number, phi: Float64Array): void {
    // A few rows (one CLI transaction) go through Algorithm 2 rather than pay ~0.1 s to build the tables.
    const trees = this.prepareShap();
    if (!this.shapTable && count >= 64) this.prepareBatchExplanations();
    const x = new Float64Array(count * this.encoder.width);
    this.encoder.encode(raw, count, x);
    phi.fill(0, 0, count * FEATURE_COUNT);
    const scale = 1 / trees.length;
    const width = this.encoder.width;
    if (this.shapTable) {
      this.shapTable.explainBlock(x, 0, count, phi, scale); // blocks of rows; short groups: see explainBlock
      return;
    }
    if (this.coalitions) {
      const one = new Float64Array(FEATURE_COUNT);
      for (let v = 0; v < count; v++) {
        one.fill(0);
        this.coalitions.explain(trees, x, v * width, one, scale);
        phi.set(one, v * FEATURE_COUNT);
      }
      return;
    }
    const one = new Float64Array(FEATURE_COUNT);
    for (let v = 0; v < count; v++) {
      one.fill(0);
      for (const tree of trees) this.explainer!.explain(tree, x, v * FEATURE_COUNT, one, scale);
      phi.set(one, v * FEATURE_COUNT);
    }
  }

  /** Exact Shapley values (path-dependent TreeSHAP) of one raw row at `offset`, and its risk factors. */
  explain(raw: ArrayLike<number>, offset = 0): Explanation {
    this.prepareShap();
    const row = new Float64Array(FEATURE_COUNT);
    for (let j = 0; j < FEATURE_COUNT; j++) row[j] = raw[offset + j];
    const x = new Float64Array(this.encoder.width);
    this.encoder.encode(row, 1, x);
    const phi = new Float64Array(FEATURE_COUNT);
    const scale = 1 / this.shapTrees!.length;
    if (this.shapTable) this.shapTable.explain(x, 0, phi, scale);
    else if (this.coalitions) this.coalitions.explain(this.shapTrees!, x, 0, phi, scale);
    else for (const tree of this.shapTrees!) this.explainer!.explain(tree, x, 0, phi, scale);
    const depthSum = new Float64Array(1);
    this.dense.sumPathLengths(x, 1, depthSum);
    const shap = Object.fromEntries(FEATURES.map((f, j) => [f, phi[j]])) as Record<FeatureName, number>;
    return {
      shap,
      base: this.baseValue,
      output: -depthSum[0] / this.dense.trees,
      riskFactors: riskFactors(row, 0, phi, this.doc.training.features, this.doc.training.rows),
    };
  }

  /** TreeSHAP's base value: the expected output over the training data (what Shapley values add up from). */
  get shapBaseValue(): number {
    this.prepareShap();
    return this.baseValue;
  }
}
