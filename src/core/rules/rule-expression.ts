/**
 * Risk rule expressions: CEL (https://cel.dev), parsed and evaluated by @bufbuild/cel (a tree-walking interpreter:
 * no eval, no new Function). The library's own type checker is not exported (and does not check calls yet), so
 * this module checks a parsed expression itself, once, when a rule is compiled: every name is a declared variable,
 * every operator and function is applied to types it accepts, and the whole is a bool. A rule that fails any of
 * these is refused with the position (line, column) and the reason; a compiled rule then evaluates per
 * transaction to true/false, or to an error for that transaction alone (an integer division by zero, ...).
 *
 * Numbers: the five features and the model's scores are CEL doubles. Comparisons across int and double are CEL's
 * own (`amount > 3000`, `hour == 3`); in arithmetic (`amount * 2 > 100`) an integer literal beside a double is
 * read as a double. Anything else that mixes int and double is refused with a hint (`double(size(merchant))`).
 */
import { CelScalar, celEnv, isCelError, parse, plan, run } from '@bufbuild/cel';
import { SecureflowError } from '../errors.js';
import { compileColumns, type RuleBlock } from './column-expression.js';
import { compileFast } from './fast-expression.js';

type ParsedExpr = ReturnType<typeof parse>;
type Expr = ParsedExpr['expr'];

/** The CEL types a rule's values can have. */
type CelT = 'bool' | 'int' | 'uint' | 'double' | 'string' | 'bytes' | 'null' | 'list';

/** The variables a rule can name, their CEL types and what they hold (the order of `rules --help`). */
export const RULE_VARIABLES = {
  amount: { type: 'double', about: 'the amount, a number' },
  hour: { type: 'double', about: 'hour of day, 0..23' },
  day_of_week: { type: 'double', about: 'day of week, 0..6, Monday = 0' },
  merchant_category: { type: 'double', about: 'merchant category code' },
  transaction_type: { type: 'double', about: '0 purchase, 1 withdrawal, 2 transfer' },
  merchant: { type: 'string', about: 'legacy merchant name ("" when absent)' },
  category: { type: 'string', about: 'legacy category ("" when absent)' },
  type: { type: 'string', about: 'legacy type name ("" when absent)' },
  reference: { type: 'string', about: 'the caller\'s id/transaction_id/reference ("" when absent)' },
  anomaly_score: { type: 'double', about: "the model's anomaly score, 0..1" },
  risk_score: { type: 'double', about: "the model's risk score, 0..100" },
  risk_level: { type: 'string', about: '"normal", "elevated" or "highest"' },
  is_anomaly: { type: 'bool', about: 'whether the model flags it' },
} as const satisfies Record<string, { type: CelT; about: string }>;

export type RuleVariable = keyof typeof RULE_VARIABLES;

/** The legacy string fields: absent in stored transactions (the database does not keep them). */
export const LEGACY_VARIABLES: readonly RuleVariable[] = ['merchant', 'category', 'type'];

/** What a rule sees of one scored transaction. Absent legacy strings are bound as "". */
export interface RuleInput {
  amount: number;
  hour: number;
  day_of_week: number;
  merchant_category: number;
  transaction_type: number;
  merchant?: string | null;
  category?: string | null;
  type?: string | null;
  reference?: string | null;
  anomaly_score: number;
  risk_score: number;
  risk_level: string;
  is_anomaly: boolean;
}

const SCALAR = { double: CelScalar.DOUBLE, string: CelScalar.STRING, bool: CelScalar.BOOL } as const;
const env = celEnv({
  variables: Object.fromEntries(Object.entries(RULE_VARIABLES).map(([name, v]) => [name, SCALAR[v.type]])),
});

/** Where in the expression a problem is: 1-based line and column, 0-based offset. */
export interface ExpressionPosition {
  offset: number;
  line: number;
  column: number;
}

export const MAX_EXPRESSION_LENGTH = 4096;

/** An expression refused at compile time: SecureflowError('invalid') with the position and reason in details. */
function refuse(source: string, offset: number, reason: string): never {
  const position = positionOf(source, offset);
  throw new SecureflowError('invalid', `expression: line ${position.line}, column ${position.column}: ${reason}`, {
    field: 'expression',
    position,
    reason,
  });
}

function positionOf(source: string, offset: number): ExpressionPosition {
  const at = Math.max(0, Math.min(offset, source.length));
  const before = source.slice(0, at);
  const line = before.split('\n').length;
  const column = at - (before.lastIndexOf('\n') + 1) + 1;
  return { offset: at, line, column };
}

export type RuleOutcome = { ok: true; matched: boolean } | { ok: false; error: string };

// Shared answers: evaluating a rule on a row allocates nothing.
const MATCHED: RuleOutcome = Object.freeze({ ok: true, matched: true });
const NOT_MATCHED: RuleOutcome = Object.freeze({ ok: true, matched: false });

export interface CompiledExpression {
  readonly source: string;
  /** Whether it runs as closures (./fast-expression.ts) rather than in the CEL interpreter. */
  readonly fast: boolean;
  /** The closure itself, when fast: true/false for a transaction, never an error. */
  readonly test: ((input: RuleInput) => boolean) | null;
  /** When fast, also a block evaluator (./column-expression.ts): what batches use, a block of rows at a time. */
  readonly column: ((block: RuleBlock) => Uint8Array) | null;
  /** The variables it names (a backtest over stored rows warns when these include legacy fields). */
  readonly variables: ReadonlySet<RuleVariable>;
  /** True/false for this transaction, or why it could not be evaluated on it (never throws). */
  evaluate(input: RuleInput): RuleOutcome;
}

/**
 * Parses and checks an expression; throws SecureflowError('invalid') naming line, column and reason when it
 * does not parse, names an unknown variable or function, applies one to the wrong types, or is not a bool.
 */
export function compileExpression(source: string, options: { interpreter?: boolean } = {}): CompiledExpression {
  if (typeof source !== 'string' || source.trim() === '')
    throw new SecureflowError('invalid', 'expression: must not be empty', { field: 'expression', reason: 'empty' });
  if (source.length > MAX_EXPRESSION_LENGTH)
    refuse(source, MAX_EXPRESSION_LENGTH, `is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  let parsed: ParsedExpr;
  try {
    parsed = parse(source);
  } catch (e) {
    const err = e as { location?: { start?: { offset?: number } }; message?: string };
    const offset = err.location?.start?.offset ?? 0;
    let reason = String(err.message ?? e).replace(/^<input>:\d+:\d+:\s*/, '');
    // The parser stops where what follows no longer fits, which is often before the real slip: say what it
    // could not read, and the usual causes.
    if (/but expecting end of input$/.test(reason)) {
      const rest = source.slice(offset).trim();
      const snippet = rest.length > 24 ? `${rest.slice(0, 24)}...` : rest;
      reason =
        `cannot read on from ${JSON.stringify(snippet)} (an operator missing what follows it, an unclosed quote ` +
        'or parenthesis, or a word that is not CEL: write && and ||, not and/or)';
    }
    refuse(source, offset, `syntax error: ${reason}`);
  }
  const checker = new Checker(source, parsed);
  const type = checker.check(parsed.expr);
  if (type.t !== 'bool')
    refuse(
      source,
      checker.offsetOf(parsed.expr),
      `a rule must be true or false, but this expression is ${article(type.t)} (compare it: e.g. amount > 3000)`,
    );
  const variables = checker.variables;
  // The checked tree (literals retyped) as closures when it can be; `interpreter` forces CEL's (for tests).
  const fast = options.interpreter ? null : compileFast(parsed.expr);
  if (fast)
    return {
      source,
      fast: true,
      test: fast,
      column: compileColumns(parsed.expr),
      variables,
      evaluate: (input) => (fast(input) ? MATCHED : NOT_MATCHED),
    };
  const program = plan(env, parsed);
  return {
    source,
    fast: false,
    test: null,
    column: null,
    variables,
    evaluate(input: RuleInput): RuleOutcome {
      let result: unknown;
      try {
        result = program(bindings(input));
      } catch (e) {
        return { ok: false, error: (e as Error).message ?? String(e) };
      }
      if (isCelError(result)) return { ok: false, error: result.message };
      if (typeof result !== 'boolean') return { ok: false, error: `gave ${typeof result}, not true or false` };
      return result ? MATCHED : NOT_MATCHED;
    },
  };
}

function bindings(input: RuleInput): Record<RuleVariable, number | string | boolean> {
  return {
    amount: input.amount,
    hour: input.hour,
    day_of_week: input.day_of_week,
    merchant_category: input.merchant_category,
    transaction_type: input.transaction_type,
    merchant: input.merchant ?? '',
    category: input.category ?? '',
    type: input.type ?? '',
    reference: input.reference ?? '',
    anomaly_score: input.anomaly_score,
    risk_score: input.risk_score,
    risk_level: input.risk_level,
    is_anomaly: input.is_anomaly,
  };
}

const article = (t: CelT) => (t === 'int' || t === 'uint' ? `an ${t}` : t === 'null' ? 'null' : `a ${t}`);
const NUMERIC = new Set<CelT>(['int', 'uint', 'double']);
const isNumeric = (t: CelT) => NUMERIC.has(t);

/** A checked sub-expression: its type, and whether it is a number literal (which may be read as a double). */
interface Typed {
  t: CelT;
  literal: boolean;
}

const STRING_METHODS = new Set(['contains', 'startsWith', 'endsWith', 'matches']);
const FUNCTIONS = 'size, int, double, string and the string methods contains, startsWith, endsWith, matches (RE2)';

class Checker {
  readonly variables = new Set<RuleVariable>();
  private readonly positions: Record<string, number>;

  constructor(
    private readonly source: string,
    parsed: ParsedExpr,
  ) {
    this.positions = (parsed.sourceInfo?.positions ?? {}) as Record<string, number>;
  }

  /** Where a sub-expression starts (the parser places an operator at the blank before it: skip blanks). */
  offsetOf(e: Expr): number {
    let at = this.positions[String(e.id)] ?? 0;
    while (at < this.source.length - 1 && /\s/.test(this.source[at])) at++;
    return at;
  }

  private fail(e: Expr, reason: string): never {
    refuse(this.source, this.offsetOf(e), reason);
  }

  check(e: Expr): Typed {
    const kind = e.exprKind;
    switch (kind.case) {
      case 'constExpr': {
        const c = kind.value.constantKind;
        switch (c.case) {
          case 'boolValue':
            return { t: 'bool', literal: false };
          case 'int64Value':
            return { t: 'int', literal: true };
          case 'uint64Value':
            return { t: 'uint', literal: true };
          case 'doubleValue':
            return { t: 'double', literal: true };
          case 'stringValue':
            return { t: 'string', literal: false };
          case 'bytesValue':
            return { t: 'bytes', literal: false };
          case 'nullValue':
            return this.fail(e, 'null is not a value a rule can compare with: no variable is ever null');
          default:
            return this.fail(e, 'this kind of constant is not supported in rules');
        }
      }
      case 'identExpr': {
        const name = kind.value.name;
        if (!Object.hasOwn(RULE_VARIABLES, name)) this.fail(e, unknownVariable(name));
        this.variables.add(name as RuleVariable);
        return { t: RULE_VARIABLES[name as RuleVariable].type, literal: false };
      }
      case 'selectExpr':
        if (kind.value.testOnly)
          return this.fail(e, 'has() is not needed: every variable is always present (absent legacy fields are "")');
        return this.fail(e, `.${kind.value.field}: variables have no fields (the variables are: ${variableNames()})`);
      case 'listExpr':
        return this.fail(e, 'a list is only allowed on the right of in, e.g. hour in [1, 2, 3]');
      case 'structExpr':
        return this.fail(e, 'messages and maps are not supported in rules');
      case 'comprehensionExpr':
        return this.fail(e, 'macros (all, exists, exists_one, map, filter) are not supported in rules');
      case 'callExpr':
        return this.call(e, kind.value);
      default:
        return this.fail(e, 'this expression is not supported in rules');
    }
  }

  private call(e: Expr, call: { function: string; target?: Expr; args: Expr[] }): Typed {
    const { function: fn, target, args } = call;
    const bool: Typed = { t: 'bool', literal: false };
    switch (fn) {
      case '_&&_':
      case '_||_':
      case '!_':
        for (const a of args) this.expect(a, 'bool', fn === '!_' ? '!' : fn.slice(1, -1));
        return bool;
      case '_?_:_': {
        this.expect(args[0], 'bool', 'the condition of ? :');
        return this.same(e, args[1], args[2], '? :');
      }
      case '_==_':
      case '_!=_':
      case '_<_':
      case '_<=_':
      case '_>_':
      case '_>=_': {
        const op = fn.slice(1, -1);
        const a = this.check(args[0]);
        const b = this.check(args[1]);
        if (isNumeric(a.t) && isNumeric(b.t)) return bool; // CEL compares int, uint and double with each other
        if (a.t !== b.t) this.fail(e, `cannot compare ${article(a.t)} with ${article(b.t)} using ${op}`);
        if (a.t === 'list') this.fail(e, `cannot compare lists using ${op}`);
        return bool;
      }
      case '@in': {
        const item = this.check(args[0]);
        const list = args[1];
        if (list.exprKind.case !== 'listExpr') this.fail(list, 'the right of in must be a list, e.g. [1, 2, 3]');
        if (list.exprKind.value.elements.length === 0) this.fail(list, 'the list after in is empty');
        for (const el of list.exprKind.value.elements) this.unify(e, args[0], item, el, this.check(el), 'in');
        return bool;
      }
      case '_+_':
      case '_-_':
      case '_*_':
      case '_/_':
      case '_%_': {
        const op = fn.slice(1, -1);
        const a = this.check(args[0]);
        const b = this.check(args[1]);
        if (op === '+' && a.t === 'string' && b.t === 'string') return { t: 'string', literal: false };
        if (!isNumeric(a.t) || !isNumeric(b.t))
          this.fail(
            e,
            `${op} needs numbers${op === '+' ? ' or two strings' : ''}, got ${article(a.t)} and ${article(b.t)}`,
          );
        const t = this.unify(e, args[0], a, args[1], b, op);
        if (op === '%' && t === 'double') this.fail(e, '% works on integers: write int(hour) % 2');
        return { t, literal: false };
      }
      case '-_': {
        const a = this.check(args[0]);
        if (!isNumeric(a.t) || a.t === 'uint') this.fail(e, `cannot negate ${article(a.t)}`);
        return a;
      }
      case 'size': {
        const subject = target ?? args[0];
        if (!subject || args.length !== (target ? 0 : 1)) this.fail(e, 'size takes one string');
        this.expectOneOf(subject, ['string', 'bytes'], 'size');
        return { t: 'int', literal: false };
      }
      case 'int':
      case 'double':
      case 'string': {
        if (target || args.length !== 1) this.fail(e, `${fn}() takes one argument`);
        const a = this.check(args[0]);
        const from: CelT[] =
          fn === 'string' ? ['int', 'uint', 'double', 'string', 'bool'] : ['int', 'uint', 'double', 'string'];
        if (!from.includes(a.t)) this.fail(args[0], `${fn}() cannot convert ${article(a.t)}`);
        return { t: fn, literal: false };
      }
      default:
        if (STRING_METHODS.has(fn)) {
          if (!target || args.length !== 1) this.fail(e, `write ${fn} as a method: merchant.${fn}("text")`);
          this.expect(target, 'string', fn);
          this.expect(args[0], 'string', `the argument of ${fn}`);
          if (fn === 'matches') this.checkPattern(args[0]);
          return bool;
        }
        return this.fail(e, `unknown function ${fn}; rules may use ${FUNCTIONS}`);
    }
  }

  private expect(e: Expr, t: CelT, what: string): void {
    const got = this.check(e);
    if (got.t !== t) this.fail(e, `${what} needs ${article(t)}, got ${article(got.t)}`);
  }

  private expectOneOf(e: Expr, ts: CelT[], what: string): void {
    const got = this.check(e);
    if (!ts.includes(got.t)) this.fail(e, `${what} needs ${ts.map(article).join(' or ')}, got ${article(got.t)}`);
  }

  private same(e: Expr, x: Expr, y: Expr, what: string): Typed {
    const a = this.check(x);
    const b = this.check(y);
    if (isNumeric(a.t) && isNumeric(b.t)) return { t: this.unify(e, x, a, y, b, what), literal: false };
    if (a.t !== b.t) this.fail(e, `both sides of ${what} must have one type, got ${article(a.t)} and ${article(b.t)}`);
    return a;
  }

  /**
   * The one numeric type two operands share: equal types, or a number literal read as the other side's type
   * (`amount * 2`: 2 becomes 2.0). Rewrites the literal in the tree, so that the interpreter sees one type.
   */
  private unify(e: Expr, x: Expr, a: Typed, y: Expr, b: Typed, what: string): CelT {
    if (a.t === b.t) return a.t;
    if (!isNumeric(a.t) || !isNumeric(b.t)) this.fail(e, `${what} cannot mix ${article(a.t)} and ${article(b.t)}`);
    if (b.literal && retype(y, a.t)) return a.t;
    if (a.literal && retype(x, b.t)) return b.t;
    return this.fail(
      e,
      `${what} mixes ${article(a.t)} and ${article(b.t)}: convert one side, e.g. double(size(merchant)) or int(amount)`,
    );
  }

  /** A literal RE2 pattern is compiled now, so that a bad one is refused when the rule is added. */
  private checkPattern(e: Expr): void {
    const k = e.exprKind;
    if (k.case !== 'constExpr' || k.value.constantKind.case !== 'stringValue') return;
    const result = run("''.matches(p)", { p: k.value.constantKind.value });
    if (isCelError(result)) this.fail(e, `not a valid RE2 pattern: ${result.message}`);
  }
}

/** Rewrites a number literal (or its negation) as type `to`; false when it cannot (a negative uint, a fraction). */
function retype(e: Expr, to: CelT): boolean {
  const k = e.exprKind;
  if (k.case === 'callExpr' && k.value.function === '-_' && to !== 'uint') return retype(k.value.args[0], to);
  if (k.case !== 'constExpr') return false;
  const c = k.value.constantKind;
  if (c.case !== 'int64Value' && c.case !== 'uint64Value' && c.case !== 'doubleValue') return false;
  const n = c.value;
  if (to === 'double') {
    k.value.constantKind = { case: 'doubleValue', value: Number(n) };
    return true;
  }
  if (typeof n === 'number') return false; // a double literal does not become an integer silently
  if (to === 'uint') {
    if (n < 0n) return false;
    k.value.constantKind = { case: 'uint64Value', value: n };
    return true;
  }
  if (to === 'int') {
    if (n > 2n ** 63n - 1n) return false;
    k.value.constantKind = { case: 'int64Value', value: n };
    return true;
  }
  return false;
}

const variableNames = () => Object.keys(RULE_VARIABLES).join(', ');

function unknownVariable(name: string): string {
  const near = Object.keys(RULE_VARIABLES).find((v) => editDistance(v, name) <= 2);
  return `unknown variable ${name}${near ? ` (did you mean ${near}?)` : ''}; the variables are: ${variableNames()}`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}
