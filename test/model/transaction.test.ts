import { describe, expect, it } from 'vitest';
import { fnv1a32, normalizeTransaction, parseTimestamp } from './helpers.js';

const ok = (input: unknown) => {
  const r = normalizeTransaction(input);
  if (!r.ok) throw new Error(`${r.error.field} ${r.error.reason}`);
  return r;
};
const err = (input: unknown) => {
  const r = normalizeTransaction(input);
  if (r.ok) throw new Error('expected an error');
  return r.error;
};

describe('transaction normalisation', () => {
  it('reads the canonical shape, numbers or numeric strings', () => {
    expect(
      ok({ amount: 12.5, hour: 3, day_of_week: 6, merchant_category: 9, transaction_type: 2 }).transaction,
    ).toEqual({
      amount: 12.5,
      hour: 3,
      day_of_week: 6,
      merchant_category: 9,
      transaction_type: 2,
    });
    expect(
      ok({ amount: ' 12.50 ', hour: '3', day_of_week: '6', merchant_category: '9', transaction_type: '2' }).transaction
        .amount,
    ).toBe(12.5);
  });

  it('derives hour and weekday from an ISO timestamp: UTC without offset, wall clock with one', () => {
    expect(parseTimestamp('2024-03-04T09:15:00Z')).toEqual({ hour: 9, dayOfWeek: 0 }); // a Monday
    expect(parseTimestamp('2024-03-10T23:59:59')).toEqual({ hour: 23, dayOfWeek: 6 });
    expect(parseTimestamp('2024-03-09T03:40:00+02:00')).toEqual({ hour: 3, dayOfWeek: 5 });
    expect(parseTimestamp('2024-03-05')).toEqual({ hour: 0, dayOfWeek: 1, dateOnly: true });
    expect(parseTimestamp('2024-02-30T10:00:00Z')).toMatchObject({ field: 'timestamp' });
    expect(parseTimestamp('yesterday')).toMatchObject({ field: 'timestamp' });
  });

  it('maps legacy category/merchant with a stable documented hash, and type names', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    const t = ok({ amount: 10, timestamp: '2024-03-04T09:15:00Z', category: 'food', type: 'Transfer' }).transaction;
    expect(t.merchant_category).toBe(fnv1a32('food') % 10);
    expect(t.transaction_type).toBe(2);
    expect(
      ok({ amount: 10, timestamp: '2024-03-04T09:15:00Z', merchant: 'Corner Cafe' }).transaction.merchant_category,
    ).toBe(fnv1a32('Corner Cafe') % 10);
    expect(
      ok({ amount: 10, timestamp: '2024-03-04T09:15:00Z', category: 7, type: 'crypto' }).transaction,
    ).toMatchObject({
      merchant_category: 7,
      transaction_type: fnv1a32('crypto') % 3,
    });
    expect(ok({ amount: 10, timestamp: '2024-03-04T09:15:00Z', category: 'x' }).transaction.transaction_type).toBe(0);
  });

  it('lets canonical fields win over legacy ones, and keeps the caller reference', () => {
    const r = ok({
      amount: 10,
      hour: 5,
      day_of_week: 1,
      timestamp: '2024-03-04T09:15:00Z',
      merchant_category: 2,
      category: 'food',
      transaction_id: 'abc-1',
      extra: true,
    });
    expect(r.transaction).toMatchObject({ hour: 5, day_of_week: 1, merchant_category: 2 });
    expect(r.reference).toBe('abc-1');
  });

  it('names the field and the reason for bad input', () => {
    expect(err({ hour: 1 })).toEqual({ field: 'amount', reason: 'is required' });
    expect(err({ amount: 'ten', hour: 1 })).toMatchObject({
      field: 'amount',
      reason: expect.stringContaining('must be a number'),
    });
    expect(err({ amount: '0x10', hour: 1 })).toMatchObject({ field: 'amount' });
    expect(err({ amount: -1, hour: 1 })).toMatchObject({ field: 'amount', reason: 'must be >= 0, got -1' });
    expect(err({ amount: Infinity })).toMatchObject({ field: 'amount', reason: 'must be a finite number' });
    expect(err({ amount: 1, hour: 24, day_of_week: 1, merchant_category: 1 })).toEqual({
      field: 'hour',
      reason: 'must be in 0..23, got 24',
    });
    expect(err({ amount: 1, hour: 2.5, day_of_week: 1, merchant_category: 1 })).toMatchObject({
      field: 'hour',
      reason: 'must be an integer, got 2.5',
    });
    expect(err({ amount: 1, hour: 2, day_of_week: 1 })).toMatchObject({ field: 'merchant_category' });
    expect(err({ amount: 1, hour: 2, day_of_week: 1, merchant_category: -3 })).toMatchObject({
      field: 'merchant_category',
    });
    expect(err({ amount: 1, day_of_week: 1, merchant_category: 1 })).toMatchObject({ field: 'hour' });
    expect(err({ amount: 1, timestamp: 12, merchant_category: 1 })).toMatchObject({ field: 'timestamp' });
    expect(err({ amount: true })).toMatchObject({ field: 'amount', reason: 'must be a number, got boolean true' });
    expect(err([1, 2])).toMatchObject({ field: 'transaction' });
    expect(err(null)).toMatchObject({ field: 'transaction' });
  });
});
