import { userInfo } from 'node:os';
import { SecureflowError } from '../../core/errors.js';
import { backtestFiles, backtestStored, type BacktestResult } from '../../core/rules/backtest.js';
import { checkRuleAction, checkRuleName } from '../../core/rules/decide.js';
import { compileExpression } from '../../core/rules/rule-expression.js';
import { backtestReport, type BacktestReport } from '../../core/rules/backtest-report.js';
import type { RiskRule, RiskRuleHistoryEntry, RiskRuleUpdate } from '../../db/store.js';
import { parseSince } from '../arguments.js';
import { RemoteClient, remoteTarget } from '../remote-client.js';
import {
  remoteRuleAdd,
  remoteRuleList,
  remoteRuleRemove,
  remoteRuleSetEnabled,
  remoteRuleShow,
  remoteRuleTest,
  remoteRuleUpdate,
} from '../remote-rules.js';
import { withStore } from '../database.js';
import { resolveFormat, type IOStreams } from '../io.js';
import { renderTable } from '../table.js';
import { formatInt } from '../terminal.js';
import { readOnlyModel } from '../read-only-model.js';

interface RulesOptions {
  db?: string;
  format?: 'table' | 'json' | 'text';
  /** A daemon to work through (its /api/rules routes) instead of the database; changes are made as its key. */
  remote?: string;
  apiKey?: string;
}

/** The daemon named by --remote (or SECUREFLOW_REMOTE), or null for the local database. */
function remoteOf(opts: RulesOptions): RemoteClient | null {
  const target = remoteTarget(opts);
  return target ? new RemoteClient(target.url, target.apiKey) : null;
}

/** Who makes a change from the CLI: the operating system's user. */
export function cliUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER || process.env.USERNAME || 'unknown';
  }
}

const json = (io: IOStreams, value: unknown) => io.stdout.write(`${JSON.stringify(value)}\n`);
const wantsJson = (opts: RulesOptions, io: IOStreams) => resolveFormat(opts.format, io, 'table', 'json') === 'json';

function notFound(name: string): never {
  throw new SecureflowError('not_found', `no rule named ${name} (secureflow rules list)`);
}

export async function runRulesAdd(
  name: string,
  opts: RulesOptions & { when: string; action: string; description?: string },
  io: IOStreams,
): Promise<void> {
  checkRuleName(name);
  checkRuleAction(opts.action);
  compileExpression(opts.when); // refused here, with line, column and reason: nothing is opened or stored
  const added = { name, expression: opts.when, action: opts.action, description: opts.description ?? null };
  const remote = remoteOf(opts);
  const rule = remote
    ? await remoteRuleAdd(remote, added)
    : await withStore(opts.db, (store) => store.addRule(added, cliUser()));
  if (opts.format === 'json') json(io, rule);
  else io.stdout.write(`rule ${rule.name} added (${rule.action}, enabled): ${rule.expression}\n`);
}

/**
 * Changes a rule's expression (--when), action and/or description (an empty one clears it), recorded in its
 * history as one `changed` row; a bad expression is refused before anything is opened.
 */
export async function runRulesChange(
  name: string,
  opts: RulesOptions & { when?: string; action?: string; description?: string },
  io: IOStreams,
): Promise<void> {
  if (opts.when === undefined && opts.action === undefined && opts.description === undefined)
    throw new SecureflowError('usage', 'give what to change: --when EXPR, --action ACTION and/or --description TEXT');
  const update: RiskRuleUpdate = {};
  if (opts.action !== undefined) {
    checkRuleAction(opts.action);
    update.action = opts.action;
  }
  if (opts.when !== undefined) update.expression = compileExpression(opts.when).source;
  if (opts.description !== undefined) update.description = opts.description.trim() === '' ? null : opts.description;
  const remote = remoteOf(opts);
  const rule = remote
    ? await remoteRuleUpdate(remote, name, update)
    : await withStore(opts.db, (store) => store.updateRule(name, update, cliUser()), { mustExist: true });
  if (!rule) notFound(name);
  if (opts.format === 'json') json(io, rule);
  else
    io.stdout.write(
      `rule ${rule.name} (${rule.action}, ${rule.enabled ? 'enabled' : 'disabled'}): ${rule.expression}\n`,
    );
}

export async function runRulesList(opts: RulesOptions, io: IOStreams): Promise<void> {
  const remote = remoteOf(opts);
  const rules = remote
    ? await remoteRuleList(remote)
    : await withStore(opts.db, (store) => store.listRules(), { mustExist: true });
  if (wantsJson(opts, io)) return void json(io, rules);
  io.stdout.write(
    renderTable(
      ['name', 'action', 'enabled', 'expression', 'description', 'updated_at'],
      rules.map((r) => [r.name, r.action, r.enabled, r.expression, r.description, r.updated_at]),
    ),
  );
  io.stderr.write(`${rules.length} rule${rules.length === 1 ? '' : 's'}\n`);
}

export async function runRulesShow(name: string, opts: RulesOptions, io: IOStreams): Promise<void> {
  const remote = remoteOf(opts);
  const { rule, history } = remote
    ? await remoteRuleShow(remote, name)
    : await withStore(
        opts.db,
        async (store) => ({ rule: await store.getRule(name), history: await store.ruleHistory(name) }),
        { mustExist: true },
      );
  if (!rule && history.length === 0) notFound(name);
  if (wantsJson(opts, io)) return void json(io, { rule, history });
  io.stdout.write(
    rule
      ? [
          `rule ${rule.name}`,
          `  when         ${rule.expression}`,
          `  action       ${rule.action}`,
          `  enabled      ${rule.enabled}`,
          `  description  ${rule.description ?? ''}`,
          `  created      ${rule.created_at} by ${rule.created_by}`,
          `  updated      ${rule.updated_at}`,
          '',
        ].join('\n')
      : `rule ${name}: removed\n`,
  );
  io.stdout.write(`\nhistory\n${historyTable(history)}`);
}

function historyTable(history: RiskRuleHistoryEntry[]): string {
  return renderTable(
    ['changed_at', 'change', 'changed_by', 'action', 'enabled', 'expression'],
    history.map((h) => [h.changed_at, h.change, h.changed_by, h.action, h.enabled, h.expression]),
  );
}

export async function runRulesSetEnabled(
  name: string,
  enabled: boolean,
  opts: RulesOptions,
  io: IOStreams,
): Promise<void> {
  const remote = remoteOf(opts);
  const rule = remote
    ? await remoteRuleSetEnabled(remote, name, enabled)
    : await withStore(opts.db, (store) => store.setRuleEnabled(name, enabled, cliUser()), { mustExist: true });
  if (!rule) notFound(name);
  if (opts.format === 'json') json(io, rule);
  else io.stdout.write(`rule ${name} ${enabled ? 'enabled' : 'disabled'}\n`);
}

export async function runRulesRemove(name: string, opts: RulesOptions, io: IOStreams): Promise<void> {
  const remote = remoteOf(opts);
  const rule = remote
    ? await remoteRuleRemove(remote, name)
    : await withStore(opts.db, (store) => store.removeRule(name, cliUser()), { mustExist: true });
  if (!rule) notFound(name);
  if (opts.format === 'json') json(io, rule);
  else io.stdout.write(`rule ${name} removed (its history stays: secureflow rules show ${name})\n`);
}

export interface RulesTestOptions extends RulesOptions {
  when?: string;
  since?: string;
  model?: string;
  threshold?: number;
  quiet?: boolean;
}

/**
 * Backtests a stored rule (NAME) or an expression (--when) on CSV files, scored now with the model `secureflow
 * score` would use, or on the transactions stored since --since, as they were scored.
 */
export async function runRulesTest(args: string[], opts: RulesTestOptions, io: IOStreams): Promise<void> {
  const [first, ...rest] = args;
  const files = opts.when !== undefined ? args : rest;
  if (opts.when === undefined && first === undefined)
    throw new SecureflowError('usage', 'give a rule name or --when EXPR, then CSV files or --since');
  if (opts.since !== undefined && files.length > 0)
    throw new SecureflowError('usage', '--since tests stored transactions: give either files or --since, not both');
  if (opts.since === undefined && files.length === 0)
    throw new SecureflowError('usage', 'give CSV files to test on (- for stdin), or --since 30d for stored ones');
  let since: Date | undefined;
  if (opts.since !== undefined) {
    since = parseSince(opts.since) ?? undefined;
    if (!since)
      throw new SecureflowError(
        'usage',
        `--since must be like 7d, 24h, 30m or an ISO-8601 date (years 1 to 9999), got ${JSON.stringify(opts.since)}`,
      );
  }
  const remote = remoteOf(opts);
  if (remote) {
    if (!since)
      throw new SecureflowError(
        'usage',
        "rules test --remote tests the daemon's stored transactions: give --since (files are tested locally)",
      );
    if (opts.when !== undefined) compileExpression(opts.when); // refused here, as locally
    const report = await remoteRuleTest(
      remote,
      opts.when === undefined ? { name: first! } : { expression: opts.when },
      since,
    );
    if (resolveFormat(opts.format, io, 'table', 'json') === 'json') return void json(io, report);
    return void io.stdout.write(formatBacktest(report, report));
  }
  let rule: Pick<RiskRule, 'name' | 'expression' | 'action' | 'enabled'> | null = null;
  if (opts.when === undefined) {
    rule = await withStore(opts.db, (store) => store.getRule(first!), { mustExist: true });
    if (!rule) notFound(first!);
  }
  const expression = compileExpression(rule ? rule.expression : opts.when!);

  let result: BacktestResult;
  let modelVersion: string | null = null;
  if (since) {
    const from = since;
    result = await withStore(opts.db, (store) => backtestStored(expression, store, from), { mustExist: true });
  } else {
    const { model } = await readOnlyModel(opts, io);
    modelVersion = model.version;
    result = await backtestFiles(expression, model, files);
  }
  const report = backtestReport({
    rule,
    expression,
    testedOn: since ? { stored_since: since.toISOString() } : { files: files.map((f) => (f === '-' ? 'stdin' : f)) },
    modelVersion,
    result,
  });
  if (resolveFormat(opts.format, io, 'table', 'json') === 'json') return void json(io, report);
  io.stdout.write(formatBacktest(report, result));
}

const pct = (part: number, whole: number) => (whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(2)}%`);

function formatBacktest(report: BacktestReport, r: BacktestResult): string {
  const { rule } = report;
  const lines = [
    rule.name
      ? `rule ${rule.name} (${rule.action}, ${rule.enabled ? 'enabled' : 'disabled'}): ${rule.expression}`
      : `expression: ${rule.expression}`,
    'stored_since' in report.tested_on
      ? `on ${formatInt(r.rows)} stored transactions since ${report.tested_on.stored_since}, as they were scored`
      : `on ${formatInt(r.rows)} rows of ${report.tested_on.files.join(', ')}, scored by model ${report.model_version}`,
    `  matched          ${formatInt(r.matched)} of ${formatInt(r.evaluated)} (${pct(r.matched, r.evaluated)})`,
    `  model flags too  ${formatInt(r.matched_flagged_by_model)} of the ${formatInt(r.matched)} matched`,
  ];
  if (r.verdicts) {
    const v = r.verdicts;
    lines.push(
      `  with a verdict   ${formatInt(v.with_verdict)} of the matched: confirmed fraud ${formatInt(v.confirmed_fraud)} (${pct(v.confirmed_fraud, v.with_verdict)}), legitimate ${formatInt(v.confirmed_legitimate)}`,
    );
  }
  if (r.invalid_rows > 0) lines.push(`  invalid rows     ${formatInt(r.invalid_rows)} (not scored, not tested)`);
  if (r.rule_errors > 0) lines.push(`  rule failed on   ${formatInt(r.rule_errors)} rows`);
  for (const e of r.errors)
    lines.push(`    ${e.file !== null ? `${e.file}: line ${e.line}` : `transaction ${e.transaction_id}`}: ${e.error}`);
  if (report.note) lines.push(`  note: ${report.note}`);
  return `${lines.join('\n')}\n`;
}
