import { SecureflowError } from '../core/errors.js';

/** Which label value marks an anomaly (train and evaluate): -1 for the original's -1/1, 1 for 0/1, true for true/false. */
export function positiveLabel(values: Set<string>, explicit?: string): string {
  if (explicit !== undefined) return explicit;
  const lower = new Set([...values].map((v) => v.toLowerCase()));
  const within = (allowed: string[]) => [...lower].every((v) => allowed.includes(v));
  if (within(['-1', '1'])) return '-1';
  if (within(['0', '1'])) return '1';
  if (within(['true', 'false'])) return 'true';
  throw new SecureflowError(
    'usage',
    `cannot tell which label marks an anomaly (values: ${[...values].slice(0, 5).join(', ')}); use --positive VALUE`,
  );
}
