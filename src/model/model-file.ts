import { createHash } from 'node:crypto';
import { SecureflowError } from '../core/errors.js';
import { FEATURES, type FeatureSpec } from './features.js';
import type { CompactTree } from './forest-train.js';

export const MODEL_FORMAT = 'secureflow-isolation-forest';
export const MODEL_FORMAT_VERSION = 1;

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
  formatVersion: typeof MODEL_FORMAT_VERSION;
  /** Content hash: the first 16 hex digits of the SHA-256 of the document without this field. */
  id: string;
  features: FeatureSpec[];
  options: {
    trees: number;
    sampleSize: number;
    seed: number;
    contamination: number | 'auto';
    threshold: number | null;
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
  /** Present when the threshold was set by `secureflow calibrate` rather than at training time. */
  calibration?: ModelCalibration;
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
  const unsealed = { format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, ...body } as const;
  const id = contentHash(unsealed);
  return { format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, id, ...body };
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
  if (doc.formatVersion !== MODEL_FORMAT_VERSION) {
    fail(
      `format version ${JSON.stringify(doc.formatVersion)} is not supported (this secureflow reads version ${MODEL_FORMAT_VERSION})`,
    );
  }
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
      tree.feature.every((f) => Number.isInteger(f) && f >= -1 && f < FEATURES.length);
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
