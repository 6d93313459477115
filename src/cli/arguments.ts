/** Command arguments that are not flags commander can check alone: ids and times, refused with a usage error. */
import { parseIsoDate } from '../core/iso-date.js';
import { SecureflowError } from '../core/errors.js';
import { inStorableRange } from '../db/shared.js';

/** A transaction id as printed by score: a positive integer. */
export function parseTransactionId(value: string): number {
  const id = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(id) || id < 1) {
    throw new SecureflowError('usage', `transaction id must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return id;
}

/** Parses "7d", "24h", "30m", "2w" or an ISO date into the moment it designates (relative to now). */
export function parseSince(value: string, now = new Date()): Date | null {
  const m = /^(\d+)\s*([mhdw])$/i.exec(value.trim());
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[
      m[2].toLowerCase() as 'm' | 'h' | 'd' | 'w'
    ];
    const d = new Date(now.getTime() - Number(m[1]) * unit);
    return inStorableRange(d) ? d : null; // 99999999d reaches before year 1
  }
  return parseIsoDate(value);
}
