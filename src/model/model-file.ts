import { createHash } from 'node:crypto';
import { SecureflowError } from '../core/errors.js';
import { CONDITIONAL_NAMES, conditionalReads, type ConditionalFeature } from './conditional.js';
import { FEATURES, type FeatureSpec } from './features.js';
import type { CompactTree } from './forest-train.js';

export const MODEL_FORMAT = 'secureflow-isolation-forest';
/**
 * Version 2 adds conditional features (`conditional`, columns 5.. of the trees); a model without them is written
 * as version 1, byte for byte as before, and both load.
 */
export const MODEL_FORMAT_VERSION = 2;
export type ModelFormatVersion = 1 | 2;

/** What the training data looked like, per feature: for the sentences of risk factors. */
export interface FeatureStats {
  name: string;
  /** 1001 evenly spaced quantiles of the raw values. */
  quantiles: number[];
  /** For integer features with at most 100 distinct values: how many training rows had each value. */
  counts?: Record<string, number>;
}

/** The model file: one JSON document, byte-identical for the same data, seed and options. */
export interface ModelDocument {
  format: typeof MODEL_FORMAT;
  formatVersion: ModelFormatVersion;
  /** Content hash: the first 16 hex digits of the SHA-256 of the document without this field. */
  id: string;
  features: FeatureSpec[];
  /**
   * Conditional features (conditional.ts), learned from the training rows: the trees' columns 5, 6, ... in this
   * order. Absent: the trees split on the five features only (format version 1).
   */
  conditional?: ConditionalFeature[];
  options: {
    trees: number;
    sampleSize: number;
    seed: number;
    contamination: number | 'auto';
    threshold: number | null;
    /** `--conditional-features` as given; absent in models from before it existed (none). */
    conditionalFeatures?: 'none' | 'all' | 'auto';
    /** How much more often conditional columns were drawn (ForestOptions); absent in models before it (1). */
    conditionalWeight?: number;
  };
  /** The anomaly-score threshold in force: is_anomaly = anomaly_score >= threshold. */
  threshold: number;
  forest: {
    /** Rows per tree actually used: min(sampleSize, training rows). */
    sampleSize: number;
    heightLimit: number;
    /** c(sampleSize), which normalises path lengths into anomaly scores. */
    normaliser: number;
    trees: CompactTree[];
  };
  training: {
    rows: number;
    /** 1001 evenly spaced quantiles of the training rows' anomaly scores (for risk_score). */
    scoreQuantiles: number[];
    features: FeatureStats[];
  };
  /** Present when the training rows came from the database (`secureflow train --from-db`), not files. */
  provenance?: TrainingProvenance;
  /** Present when the threshold was set by `secureflow calibrate` rather than at training time. */
  calibration?: ModelCalibration;
}

/**
 * The stored transactions a model was trained on (`train --from-db`). Like the rest of the document it holds no
 * time: the same database and flags give the same file, and `sha256` tells whether two models saw the same rows.
 */
export interface TrainingProvenance {
  source: 'database';
  /**
   * `--since` as given: an ISO-8601 instant (normalised to UTC), or a span back from when it ran such as "30d"
   * (the moment itself is not recorded, so as not to put a time in the file); null for every stored row.
   */
  since: string | null;
  /** `--until-id` as given, or null (the walk then ended at the highest id when it began). */
  untilId: number | null;
  /** The first and last transaction ids used. */
  firstId: number;
  lastId: number;
  /** Rows used (training.rows) and rows of the window left out as confirmed fraud by an analyst's verdict. */
  rows: number;
  leftOut: number;
  /**
   * SHA-256 over the rows used in id order, one line each: "id,amount,hour,day_of_week,merchant_category,
   * transaction_type\n" (numbers as JavaScript prints them).
   */
  sha256: string;
}

/**
 * Where a calibrated threshold came from. No time is recorded here (as with training: the document is a pure
 * function of its inputs, so the same inputs give the same file and version); the registry keeps when.
 */
export interface ModelCalibration {
  method: 'alert-rate' | 'target-precision';
  /**
   * `files`: CSV files of traffic; `feedback`: the stored transactions with analysts' verdicts (not a sample of
   * traffic, so their flagged share says nothing about the alert rate).
   */
  source: 'files' | 'feedback';
  /** The alert rate or the precision asked for, as a fraction. */
  target: number;
  /** Rows of calibration traffic, and the anomalies among them when labels were used. */
  rows: number;
  /** Of those rows, how many the new threshold flags: the expected alert rate is flagged / rows. */
  flagged: number;
  positives: number | null;
  labelColumn: string | null;
  /**
   * The calibration files by base name and SHA-256 of their bytes (null for stdin); for feedback, one entry named
   * `feedback`, hashed over the reviewed rows and verdicts used.
   */
  files: { name: string; sha256: string | null }[];
  /** The model calibrated, and its threshold before. */
  fromVersion: string;
  fromThreshold: number;
}

/** Not a valid secureflow model: a SecureflowError of kind `model` (the class lets callers add where it came from). */
export class ModelFormatError extends SecureflowError {
  override name = 'ModelFormatError';
  constructor(message: string) {
    super('model', message);
  }
}

export function contentHash(docWithoutId: Omit<ModelDocument, 'id'>): string {
  return hashText(JSON.stringify(docWithoutId));
}

/** Builds the document with its id in a fixed key order, so serialising it is deterministic. */
export function sealModel(body: Omit<ModelDocument, 'format' | 'formatVersion' | 'id'>): ModelDocument {
  const formatVersion: ModelFormatVersion = body.conditional ? 2 : 1;
  const unsealed = { format: MODEL_FORMAT, formatVersion, ...body } as const;
  const id = contentHash(unsealed);
  return { format: MODEL_FORMAT, formatVersion, id, ...body };
}

export function serializeModel(doc: ModelDocument): string {
  return `${JSON.stringify(doc)}\n`;
}

/** The one way in: parses and checks a model file's text, or throws ModelFormatError saying what is wrong. */
export function parseModel(text: string): ModelDocument {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`model file is not JSON: ${(e as Error).message}`);
  }
  // A file as serializeModel wrote it hashes straight from its text, saving a re-serialisation at start-up;
  // any other layout (say, pretty-printed) is checked by re-serialising.
  const id = (data as { id?: unknown } | null)?.id;
  const marker = `,"id":${JSON.stringify(id)},`;
  const at = typeof id === 'string' ? text.indexOf(marker) : -1;
  const body = at > 0 && text.endsWith('}\n') ? `${text.slice(0, at)},${text.slice(at + marker.length, -1)}` : null;
  return checkModel(data, body !== null && hashText(body) === id);
}

function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function checkModel(data: unknown, hashVerified = false): ModelDocument {
  const fail = (what: string): never => {
    throw new ModelFormatError(`not a secureflow model: ${what}`);
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) fail('expected a JSON object');
  const doc = data as Record<string, unknown>;
  if (doc.format !== MODEL_FORMAT) fail(`format is ${JSON.stringify(doc.format)}, expected "${MODEL_FORMAT}"`);
  if (doc.formatVersion !== 1 && doc.formatVersion !== 2) {
    fail(
      `format version ${JSON.stringify(doc.formatVersion)} is not supported (this secureflow reads versions 1 to ${MODEL_FORMAT_VERSION})`,
    );
  }
  if (doc.formatVersion === 1 && doc.conditional !== undefined) fail('conditional features need format version 2');
  if (doc.formatVersion === 2) checkConditional(doc.conditional, fail);
  const columns = FEATURES.length + (doc.formatVersion === 2 ? (doc.conditional as unknown[]).length : 0);
  const features = doc.features as FeatureSpec[];
  if (
    !Array.isArray(features) ||
    features.length !== FEATURES.length ||
    features.some((f, j) => f?.name !== FEATURES[j])
  ) {
    fail(`features must be ${FEATURES.join(', ')}`);
  }
  const forest = doc.forest as ModelDocument['forest'];
  if (!forest || !Array.isArray(forest.trees) || forest.trees.length === 0) fail('forest.trees is missing');
  if (!(typeof doc.threshold === 'number' && doc.threshold > 0 && doc.threshold <= 1))
    fail('threshold must be in (0, 1]');
  const training = doc.training as ModelDocument['training'];
  if (!training || !Array.isArray(training.scoreQuantiles) || training.scoreQuantiles.length < 2) {
    fail('training.scoreQuantiles is missing');
  }
  for (const [t, tree] of forest.trees.entries()) {
    const ok =
      tree &&
      Array.isArray(tree.feature) &&
      Array.isArray(tree.threshold) &&
      Array.isArray(tree.size) &&
      tree.feature.length === tree.threshold.length &&
      tree.feature.length === tree.size.length &&
      tree.feature.every((f) => Number.isInteger(f) && f >= -1 && f < columns);
    if (!ok) fail(`tree ${t} is malformed`);
  }
  const { id, ...rest } = doc;
  const expected = hashVerified ? id : contentHash(rest as Omit<ModelDocument, 'id'>);
  if (id !== expected)
    fail(
      `content hash mismatch (id ${JSON.stringify(id)}, content hashes to ${expected}): the file was edited or damaged`,
    );
  return doc as unknown as ModelDocument;
}

/** The conditional features' structure: known names, once each, and well-formed tables (see conditional.ts). */
function checkConditional(value: unknown, fail: (what: string) => never): void {
  if (!Array.isArray(value) || value.length === 0 || value.length > CONDITIONAL_NAMES.length)
    fail('conditional must be a non-empty list of conditional features');
  const features = value as Record<string, unknown>[];
  const seen = new Set<unknown>();
  const isNumber = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
  const isShare = (x: unknown): boolean => isNumber(x) && (x as number) > 0 && (x as number) <= 1;
  const isPair = (x: unknown): boolean => Array.isArray(x) && x.length === 2 && isNumber(x[0]) && x[1] > 0;
  const isRecord = (x: unknown): x is Record<string, unknown> =>
    x !== null && typeof x === 'object' && !Array.isArray(x);
  const isCode = (k: string): boolean => /^(0|[1-9][0-9]{0,8})$/.test(k);
  for (const [k, f] of features.entries()) {
    const where = `conditional feature ${k}`;
    if (!isRecord(f) || !CONDITIONAL_NAMES.includes(f.name as never) || seen.has(f.name))
      fail(`${where}: name must be one of ${CONDITIONAL_NAMES.join(', ')}, each at most once`);
    seen.add(f.name);
    if (JSON.stringify(f.reads) !== JSON.stringify(conditionalReads(f.name as never)))
      fail(`${where} (${f.name}) must read ${conditionalReads(f.name as never).join(', ')}`);
    if (f.name === 'amount_for_category') {
      const cats = f.categories;
      const ok =
        (f.rule === 'robust-z-log-cent' || f.rule === 'robust-z-log1p') &&
        isPair(f.overall) &&
        isRecord(cats) &&
        Object.entries(cats).every(([c, p]) => isCode(c) && isPair(p));
      if (!ok) fail(`${where} (${f.name}) is malformed`);
    } else {
      const counts = f.counts;
      const ok =
        ((f.rule === 'log-share-rare' && isShare(f.ordinaryShare)) ||
          (f.rule === 'log-share' && f.ordinaryShare === undefined)) &&
        Number.isInteger(f.values) &&
        (f.values as number) >= 1 &&
        isRecord(counts) &&
        Object.entries(counts).every(
          ([c, m]) =>
            isCode(c) &&
            isRecord(m) &&
            Object.entries(m).every(([v, n]) => isCode(v) && Number.isInteger(n) && (n as number) > 0),
        );
      if (!ok) fail(`${where} (${f.name}) is malformed`);
    }
  }
}
