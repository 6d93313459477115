import type { ChunkExecutor } from '../core/batch/executors.js';
import { parseRecords, csvEscape } from '../core/batch/csv-records.js';
import { formatChunk, type ChunkSettings, type ScoredChunk } from '../core/batch/score-chunk.js';
import { decisionCode } from '../core/rules/decide.js';
import { FEATURE_COUNT, FEATURES } from '../model/features.js';
import type { FieldError } from '../model/transaction.js';
import type { BatchResult } from '../daemon/contract/shapes.js';
import type { RemoteClient } from './remote-client.js';

type Item = BatchResult['results'][number];
type Refused = Extract<Item, { error: string }>;
const refused = (item: Item): item is Refused => 'error' in item && typeof item.error === 'string';

/**
 * Scores CSV chunks on a daemon: each chunk goes as text/csv to POST /api/predict-batch (the daemon
 * reads it as `secureflow score` would and stores it in one transaction), and the answer is formatted
 * here exactly as a local run formats its own, so `--remote` output matches local output.
 */
export function remoteExecutor(client: RemoteClient, settings: ChunkSettings, store: boolean): ChunkExecutor {
  return {
    capacity: 2, // one chunk on the wire while the previous is formatted
    async run(job) {
      // The daemon reads comma CSV under our names: the header goes as mapped (--column), and another
      // delimiter's records go rewritten with commas (one record per index, as the daemon counts them).
      const headerLine = `${job.fields.map(csvEscape).join(',')}\n`;
      const rows = parseRecords(Buffer.from(job.bytes).toString('utf8'), job.firstLine, job.delimiter);
      const records =
        job.delimiter === ','
          ? job.bytes
          : Buffer.from(Array.from({ length: rows.count }, (_, i) => `${rows.text(i)}\n`).join(''));
      const body = Buffer.concat([Buffer.from(headerLine), records]);
      const params = new URLSearchParams({ explain: String(settings.explain), store: String(store) });
      const answer = await client.request<BatchResult>('POST', `/api/predict-batch?${params}`, { csv: body });
      const items = answer.results;
      const errors = new Map<number, FieldError>();
      let stopAt = rows.count;
      const valid = items.filter((item): item is Exclude<Item, Refused> => {
        if (!refused(item)) return true;
        const field = item.field || 'row';
        errors.set(item.index, {
          field,
          reason: item.error.startsWith(`${field} `) ? item.error.slice(field.length + 1) : item.error,
        });
        if (settings.strict && item.index < stopAt) stopAt = item.index;
        return false;
      });
      const n = valid.length;
      const ids = new Float64Array(n);
      const batch: ScoredChunk['batch'] = {
        seq: job.seq,
        count: n,
        features: new Float64Array(n * FEATURE_COUNT),
        anomalyScore: new Float64Array(n),
        riskScore: new Float64Array(n),
        confidence: new Float64Array(n),
        isAnomaly: new Uint8Array(n),
        references: null,
        shap: settings.explain ? new Float64Array(n * FEATURE_COUNT) : null,
        stopped: stopAt < rows.count,
        // The daemon's rules decided: its answer carries each row's decision and matched rules.
        decisions: new Uint8Array(n),
        matchedRules: new Array(n).fill(null),
        ruleErrors: new Array(n).fill(null),
      };
      valid.forEach((item, v) => {
        batch.anomalyScore[v] = item.anomaly_score;
        batch.riskScore[v] = item.risk_score;
        batch.confidence[v] = item.confidence;
        batch.isAnomaly[v] = item.is_anomaly ? 1 : 0;
        batch.decisions![v] = decisionCode(item.decision ?? (item.is_anomaly ? 'review' : 'allow'));
        if (item.matched_rules && item.matched_rules.length > 0) batch.matchedRules![v] = item.matched_rules;
        if (item.rule_errors && item.rule_errors.length > 0) batch.ruleErrors![v] = item.rule_errors;
        ids[v] = item.transaction_id ?? 0;
        if (batch.shap && item.shap_explanation)
          FEATURES.forEach((f, j) => {
            batch.shap![v * FEATURE_COUNT + j] = item.shap_explanation![f];
          });
      });
      return formatChunk(
        { thresholdRisk: answer.threshold_risk, version: answer.model_version },
        { job, rows, errors, warnings: new Map(), stopAt, batch },
        settings,
        store ? ids : null,
      );
    },
    close: async () => {},
  };
}
