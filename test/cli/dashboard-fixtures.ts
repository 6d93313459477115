/** A realistic dashboard snapshot and transaction detail for the dashboard's view and reducer tests. */
import type { DashboardSnapshot, FlaggedSummary, TransactionDetail } from '../../src/cli/dashboard/snapshot.js';

export const GENERATED_AT = '2025-03-14T12:00:00.000Z';
const HOUR = 3_600_000;

// Per-hour totals over the week: quiet nights, busy afternoons; flagged transactions cluster at night.
const SHAPE = [
  180, 120, 90, 80, 95, 150, 300, 480, 640, 720, 760, 780, 800, 790, 770, 740, 720, 700, 660, 600, 520, 420, 320, 240,
];
const FLAGGED = [62, 55, 48, 44, 40, 30, 25, 30, 35, 36, 38, 39, 40, 40, 38, 37, 36, 35, 33, 32, 35, 40, 45, 52];

const flagged = (
  id: number,
  hoursAgo: number,
  amount: number,
  score: number,
  risk: number,
  feature: string,
  description: string,
  feedback: boolean | null,
): FlaggedSummary => {
  const created = new Date(Date.parse(GENERATED_AT) - hoursAgo * HOUR);
  return {
    id,
    created_at: created.toISOString(),
    amount,
    hour: created.getUTCHours(),
    anomaly_score: score,
    risk_score: risk,
    risk_level: 'highest',
    top_factor: { feature, description },
    feedback,
  };
};

export const RECENT_FLAGGED: FlaggedSummary[] = [
  flagged(12034, 0.4, 4800, 0.7134, 99.6, 'amount', 'amount 4,800.00 is higher than 99.6% of training data', null),
  flagged(12029, 1.2, 3250.5, 0.6921, 99.1, 'hour', 'hour 3 occurs in only 0.8% of training transactions', null),
  flagged(12017, 2.9, 2999.99, 0.6805, 98.7, 'amount', 'amount 2,999.99 is higher than 99.1% of training data', true),
  flagged(
    12008,
    4.1,
    15.2,
    0.6512,
    97.2,
    'merchant_category',
    'merchant category 19 never occurs in the training data',
    false,
  ),
  flagged(
    11996,
    5.6,
    1875,
    0.6433,
    96.8,
    'transaction_type',
    'transfer (transaction_type 2) occurs in only 4.9% of training transactions',
    null,
  ),
  flagged(11987, 7.3, 920.4, 0.6301, 95.9, 'hour', 'hour 4 occurs in only 0.6% of training transactions', true),
  flagged(11975, 9.8, 6120, 0.7402, 99.8, 'amount', 'amount 6,120.00 is higher than 99.8% of training data', null),
  flagged(
    11960,
    12.5,
    48.75,
    0.6188,
    95.1,
    'day_of_week',
    'Sunday (day_of_week 6) occurs in only 6.2% of training transactions',
    null,
  ),
];

export function fixtureSnapshot(overrides: Partial<DashboardSnapshot> = {}): DashboardSnapshot {
  const hourly = SHAPE.map((t, hour) => ({
    hour,
    total_transactions: Math.round(t * 1.03),
    anomalies: Math.round(FLAGGED[hour] * 1.17),
  }));
  const total = hourly.reduce((a, h) => a + h.total_transactions, 0);
  const anomalies = hourly.reduce((a, h) => a + h.anomalies, 0);
  const since = Date.parse(GENERATED_AT) - 7 * 24 * HOUR;
  const span = (7 * 24 * HOUR) / 48;
  const throughput = Array.from({ length: 48 }, (_, i) => {
    const start = new Date(since + i * span);
    const h = start.getUTCHours();
    // Diurnal volume with a little deterministic jitter.
    return {
      start: start.toISOString(),
      total: Math.round(SHAPE[h] * 0.515 + ((i * 37) % 23)),
      anomalies: Math.round(FLAGGED[h] * 0.6),
    };
  });
  const elevated = 1152;
  return {
    source: 'sqlite ~/.local/share/secureflow/secureflow.db',
    model_version: '2025.03.1',
    days: 7,
    since: new Date(since).toISOString(),
    generated_at: GENERATED_AT,
    stats: {
      total_transactions: total,
      anomalies_detected: anomalies,
      avg_anomaly_score: 0.431245,
      anomaly_rate: Math.round((anomalies / total) * 10_000) / 100,
    },
    hourly_distribution: hourly,
    feedback: { total_feedback: 86, positive_feedback: 79, accuracy: 91.86 },
    risk_levels: { normal: total - anomalies - elevated, elevated, highest: anomalies },
    throughput,
    recent_flagged: RECENT_FLAGGED.map((r) => ({ ...r })),
    ...overrides,
  };
}

export function fixtureDetail(overrides: Partial<TransactionDetail> = {}): TransactionDetail {
  return {
    id: 12034,
    created_at: RECENT_FLAGGED[0].created_at,
    source: 'api',
    transaction: { amount: 4800, hour: 2, day_of_week: 3, merchant_category: 7, transaction_type: 2 },
    anomaly_score: 0.7134,
    risk_score: 99.6,
    risk_level: 'highest',
    is_anomaly: true,
    confidence: 0.83,
    model_version: '2025.03.1',
    shap_explanation: {
      amount: 0.1423,
      hour: 0.0611,
      day_of_week: -0.0042,
      merchant_category: -0.0117,
      transaction_type: 0.0189,
    },
    risk_factors: [
      {
        feature: 'amount',
        value: 4800,
        contribution: 0.1423,
        description: 'amount 4,800.00 is higher than 99.6% of training data',
      },
      {
        feature: 'hour',
        value: 2,
        contribution: 0.0611,
        description: 'hour 2 occurs in only 1.1% of training transactions',
      },
      {
        feature: 'transaction_type',
        value: 2,
        contribution: 0.0189,
        description: 'transfer (transaction_type 2) occurs in only 4.9% of training transactions',
      },
    ],
    feedback: null,
    ...overrides,
  };
}

/** Drift figures for the dashboard's drift line and section: amount and the score drifted, hour on watch. */
export function fixtureDrift(): NonNullable<DashboardSnapshot['drift']> {
  const figure = (psi: number, bin: string, expected: number, actual: number) => ({
    psi,
    band: psi >= 0.25 ? ('drifted' as const) : psi >= 0.1 ? ('watch' as const) : ('stable' as const),
    drifted: psi >= 0.25,
    largest_shift: { bin, expected, actual },
  });
  return {
    days: 7,
    rows: 12_027,
    scored_rows: 12_027,
    features: [
      { name: 'amount', ...figure(4.0424, '> 89.2', 0.1, 0.797) },
      { name: 'hour', ...figure(0.1312, '<= 9', 0.175, 0.31) },
      { name: 'day_of_week', ...figure(0.0004, '3', 0.147, 0.142) },
      { name: 'merchant_category', ...figure(0.0026, '9', 0.069, 0.081) },
      { name: 'transaction_type', ...figure(0.0011, '2', 0.123, 0.134) },
    ],
    score: figure(12.283, '> 0.5537', 0.1, 1),
    drifted: true,
  };
}

/** Decisions over the window (adding up to the fixture's 12,027 transactions) and the rules that fired most. */
export function fixtureDecisions(): Pick<DashboardSnapshot, 'decisions' | 'top_rules'> {
  return {
    decisions: { allow: 10_884, review: 1_105, block: 38 },
    top_rules: [
      { name: 'big-night-transfer', action: 'block', matches: 38 },
      { name: 'new-merchant', action: 'review', matches: 21 },
      { name: 'vip.allow-list', action: 'allow', matches: 9 },
    ],
  };
}
