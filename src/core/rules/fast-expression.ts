/**
 * Checked rule expressions turned into JavaScript closures: the common forms (comparisons of the numeric variables
 * with numbers, && || ! ?:, `in` a list of literals, double arithmetic, string equality and contains/startsWith/
 * endsWith) evaluate in tens of nanoseconds, where @bufbuild/cel's interpreter takes about a microsecond: 20 rules
 * on 1M rows cost ~20 s of CPU that way, against a target of +20% on a ~2 s run. No eval, no new Function: a tree
 * of closures built from the parsed, checked expression.
 *
 * Only forms that cannot fail at run time and whose value is the same in JavaScript as in CEL are taken (doubles are
 * IEEE in both; numeric comparisons across int and double are exact for the integers a literal can hold here).
 * Anything else (integer arithmetic, which CEL checks for overflow; conversions; size; matches; ordering of strings,
 * which CEL does by code point) gives null, and the rule is evaluated by the interpreter. A differential test
 * (test/core/fast-expression.test.ts) holds the two to the same answers.
 */
import type { parse } from '@bufbuild/cel';
import { RULE_VARIABLES, type RuleInput, type RuleVariable } from './rule-expression.js';

type Expr = ReturnType<typeof parse>['expr'];

/** A compiled sub-expression: its CEL type and its evaluator. */
type Node =
  | { t: 'double' | 'int'; f: (x: RuleInput) => number; constant?: number }
  | { t: 'string'; f: (x: RuleInput) => string; constant?: string }
  | { t: 'bool'; f: (x: RuleInput) => boolean; constant?: undefined };

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The expression as one closure giving true or false, or null when it must be left to the interpreter. */
export function compileFast(expr: Expr): ((x: RuleInput) => boolean) | null {
  const node = build(expr);
  return node && node.t === 'bool' ? node.f : null;
}

function build(e: Expr): Node | null {
  const kind = e.exprKind;
  switch (kind.case) {
    case 'constExpr': {
      const c = kind.value.constantKind;
      if (c.case === 'boolValue') {
        const v = c.value;
        return { t: 'bool', f: () => v };
      }
      if (c.case === 'doubleValue') return number('double', c.value);
      if (c.case === 'int64Value' && c.value <= SAFE && c.value >= -SAFE) return number('int', Number(c.value));
      if (c.case === 'stringValue') {
        const v = c.value;
        return { t: 'string', f: () => v, constant: v };
      }
      return null;
    }
    case 'identExpr':
      return variable(kind.value.name);
    case 'callExpr':
      return call(kind.value);
    default:
      return null;
  }
}

function number(t: 'double' | 'int', v: number): Node {
  return { t, f: () => v, constant: v };
}

function variable(name: string): Node | null {
  if (!Object.hasOwn(RULE_VARIABLES, name)) return null;
  const v = name as RuleVariable;
  switch (RULE_VARIABLES[v].type) {
    case 'double':
      return { t: 'double', f: numberGetter(v) };
    case 'string':
      return { t: 'string', f: stringGetter(v) };
    case 'bool':
      return { t: 'bool', f: (x) => x.is_anomaly };
    default:
      return null;
  }
}

// One closure per variable: a property read the engine can keep monomorphic.
function numberGetter(v: RuleVariable): (x: RuleInput) => number {
  switch (v) {
    case 'amount':
      return (x) => x.amount;
    case 'hour':
      return (x) => x.hour;
    case 'day_of_week':
      return (x) => x.day_of_week;
    case 'merchant_category':
      return (x) => x.merchant_category;
    case 'transaction_type':
      return (x) => x.transaction_type;
    case 'anomaly_score':
      return (x) => x.anomaly_score;
    default:
      return (x) => x.risk_score;
  }
}

function stringGetter(v: RuleVariable): (x: RuleInput) => string {
  switch (v) {
    case 'merchant':
      return (x) => x.merchant ?? '';
    case 'category':
      return (x) => x.category ?? '';
    case 'type':
      return (x) => x.type ?? '';
    case 'reference':
      return (x) => x.reference ?? '';
    default:
      return (x) => x.risk_level;
  }
}

const isNumber = (n: Node): n is Extract<Node, { t: 'double' | 'int' }> => n.t === 'double' || n.t === 'int';

function call(c: { function: string; target?: Expr; args: Expr[] }): Node | null {
  const fn = c.function;
  if (c.target) return method(fn, c.target, c.args);
  if (fn === '@in') {
    const item = build(c.args[0]);
    return item ? membership(item, c.args[1]) : null;
  }
  const args: Node[] = [];
  for (const a of c.args) {
    const n = build(a);
    if (!n) return null;
    args.push(n);
  }
  const [a, b] = args;
  switch (fn) {
    case '_&&_': {
      if (a.t !== 'bool' || b.t !== 'bool') return null;
      const [p, q] = [a.f, b.f];
      return { t: 'bool', f: (x) => p(x) && q(x) };
    }
    case '_||_': {
      if (a.t !== 'bool' || b.t !== 'bool') return null;
      const [p, q] = [a.f, b.f];
      return { t: 'bool', f: (x) => p(x) || q(x) };
    }
    case '!_': {
      if (a.t !== 'bool') return null;
      const p = a.f;
      return { t: 'bool', f: (x) => !p(x) };
    }
    case '_?_:_': {
      const r = args[2];
      if (a.t !== 'bool' || b.t !== r.t) return null;
      const [p, q, s] = [a.f, b.f, r.f] as [
        (x: RuleInput) => boolean,
        (x: RuleInput) => never,
        (x: RuleInput) => never,
      ];
      return { t: b.t, f: (x: RuleInput) => (p(x) ? q(x) : s(x)) } as Node;
    }
    case '_==_':
    case '_!=_':
      return equality(fn === '_!=_', a, b);
    case '_<_':
    case '_<=_':
    case '_>_':
    case '_>=_':
      return isNumber(a) && isNumber(b) ? compare(fn, a, b) : null;
    case '_+_':
    case '_-_':
    case '_*_':
    case '_/_':
      // Doubles only: IEEE in both languages (x / 0 is an infinity, not an error). Integers overflow-check in CEL.
      return a.t === 'double' && b.t === 'double' ? arithmetic(fn, a.f, b.f) : null;
    case '-_':
      if (a.t === 'double') {
        const p = a.f;
        return { t: 'double', f: (x) => -p(x) };
      }
      return a.t === 'int' && a.constant !== undefined && a.constant !== 0 ? number('int', -a.constant) : null;
    default:
      return null;
  }
}

function equality(negate: boolean, a: Node, b: Node): Node | null {
  const same = (isNumber(a) && isNumber(b)) || (a.t === b.t && a.t !== 'double' && a.t !== 'int');
  if (!same) return null;
  const [p, q] = [a.f as (x: RuleInput) => unknown, b.f as (x: RuleInput) => unknown];
  if (b.constant !== undefined) {
    const k = b.constant;
    return { t: 'bool', f: negate ? (x) => p(x) !== k : (x) => p(x) === k };
  }
  return { t: 'bool', f: negate ? (x) => p(x) !== q(x) : (x) => p(x) === q(x) };
}

function compare(
  fn: string,
  a: Extract<Node, { t: 'double' | 'int' }>,
  b: Extract<Node, { t: 'double' | 'int' }>,
): Node {
  const [p, q] = [a.f, b.f];
  if (b.constant !== undefined) {
    const k = b.constant; // the usual form, `amount > 3000`: one call, not two
    switch (fn) {
      case '_<_':
        return { t: 'bool', f: (x) => p(x) < k };
      case '_<=_':
        return { t: 'bool', f: (x) => p(x) <= k };
      case '_>_':
        return { t: 'bool', f: (x) => p(x) > k };
      default:
        return { t: 'bool', f: (x) => p(x) >= k };
    }
  }
  switch (fn) {
    case '_<_':
      return { t: 'bool', f: (x) => p(x) < q(x) };
    case '_<=_':
      return { t: 'bool', f: (x) => p(x) <= q(x) };
    case '_>_':
      return { t: 'bool', f: (x) => p(x) > q(x) };
    default:
      return { t: 'bool', f: (x) => p(x) >= q(x) };
  }
}

function arithmetic(fn: string, p: (x: RuleInput) => number, q: (x: RuleInput) => number): Node {
  switch (fn) {
    case '_+_':
      return { t: 'double', f: (x) => p(x) + q(x) };
    case '_-_':
      return { t: 'double', f: (x) => p(x) - q(x) };
    case '_*_':
      return { t: 'double', f: (x) => p(x) * q(x) };
    default:
      return { t: 'double', f: (x) => p(x) / q(x) };
  }
}

/** `x in [literals]`: a Set lookup (CEL's `in` is equality with each element; NaN is never a literal). */
function membership(item: Node, list: Expr): Node | null {
  if (list.exprKind.case !== 'listExpr') return null;
  const values: (number | string)[] = [];
  for (const el of list.exprKind.value.elements) {
    const n = build(el);
    if (!n || n.constant === undefined) return null;
    if (isNumber(item) !== isNumber(n) || (!isNumber(item) && item.t !== n.t)) return null;
    values.push(n.constant);
  }
  if (item.t === 'bool') return null;
  const set = new Set<number | string>(values); // SameValueZero: -0 and 0 are one number, as in CEL
  const p = item.f as (x: RuleInput) => number | string;
  return { t: 'bool', f: (x) => set.has(p(x)) };
}

function method(fn: string, target: Expr, args: Expr[]): Node | null {
  if (args.length !== 1 || (fn !== 'contains' && fn !== 'startsWith' && fn !== 'endsWith')) return null;
  const s = build(target);
  const a = build(args[0]);
  if (!s || !a || s.t !== 'string' || a.t !== 'string') return null;
  const [p, q] = [s.f, a.f];
  if (fn === 'contains') return { t: 'bool', f: (x) => p(x).includes(q(x)) };
  if (fn === 'startsWith') return { t: 'bool', f: (x) => p(x).startsWith(q(x)) };
  return { t: 'bool', f: (x) => p(x).endsWith(q(x)) };
}
