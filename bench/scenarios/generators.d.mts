// Types of what the tests use from generators.mjs (plain ESM, run by node without a build).
export interface Scenario {
  name: string;
  description: string;
  fraudRate?: number;
  mix?: Record<string, number>;
  reference?: boolean;
}
export const SCENARIOS: Scenario[];
export const HEADER: string;
/** Rows of one generated scenario: [amount, hour, day_of_week, merchant_category, transaction_type, is_fraud, kind]. */
export function generateScenario(
  scenario: Scenario,
  rows?: number,
  seed?: number,
): { rows: (number | string)[][]; fraud: number };
