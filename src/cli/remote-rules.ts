/**
 * `secureflow rules ... --remote URL`: the rule commands through a daemon's /api/rules routes, typed from the
 * contract's schemas. The same shapes as the local store gives, so output is the same in both modes.
 */
import type { BacktestReport } from '../core/rules/backtest-report.js';
import type { BacktestReportView, RiskRuleView, RuleDetail, RuleList } from '../daemon/contract/rule-shapes.js';
import type { NewRiskRule, RiskRule, RiskRuleHistoryEntry, RiskRuleUpdate } from '../db/store.js';
import type { RemoteClient } from './remote-client.js';

const path = (name: string) => `/api/rules/${encodeURIComponent(name)}`;

export async function remoteRuleList(client: RemoteClient): Promise<RiskRule[]> {
  return (await client.request<RuleList>('GET', '/api/rules')).rules;
}

export async function remoteRuleShow(
  client: RemoteClient,
  name: string,
): Promise<{ rule: RiskRule | null; history: RiskRuleHistoryEntry[] }> {
  return client.request<RuleDetail>('GET', path(name));
}

export async function remoteRuleAdd(client: RemoteClient, rule: NewRiskRule): Promise<RiskRule> {
  return client.request<RiskRuleView>('POST', '/api/rules', { json: rule });
}

export async function remoteRuleSetEnabled(client: RemoteClient, name: string, enabled: boolean): Promise<RiskRule> {
  return client.request<RiskRuleView>('PATCH', path(name), { json: { enabled } });
}

export async function remoteRuleUpdate(client: RemoteClient, name: string, update: RiskRuleUpdate): Promise<RiskRule> {
  return client.request<RiskRuleView>('PATCH', path(name), { json: update });
}

export async function remoteRuleRemove(client: RemoteClient, name: string): Promise<RiskRule> {
  return client.request<RiskRuleView>('DELETE', path(name));
}

/** A backtest over the daemon's stored transactions since `since` (sent as an instant: the same window here and there). */
export async function remoteRuleTest(
  client: RemoteClient,
  test: { name: string } | { expression: string },
  since: Date,
): Promise<BacktestReport> {
  return client.request<BacktestReportView>('POST', '/api/rules/test', {
    json: { ...test, since: since.toISOString() },
  }) as Promise<BacktestReport>;
}
