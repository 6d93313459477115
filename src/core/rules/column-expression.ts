/**
 * Checked rule expressions evaluated a block of rows at a time: each node of the expression is one tight loop over
 * the block's column arrays (the variables of up to BLOCK_ROWS transactions), writing into a scratch array of its own
 * allocated once, when the rule is compiled. Per row and rule that is a few array reads and writes, against a
 * closure call per node per row (./fast-expression.ts): what lets 20 rules stay within a fraction of scoring time.
 *
 * The same forms as the closures (the ones that cannot fail at run time and mean the same in JavaScript as in CEL);
 * anything else gives null and the rule is evaluated row by row. test/core/rules/fast-expression.test.ts holds both
 * to the interpreter's answers.
 */
import type { parse } from '@bufbuild/cel';
import { RULE_VARIABLES, type RuleVariable } from './rule-expression.js';

type Expr = ReturnType<typeof parse>['expr'];

/** Rows per block: the scratch arrays stay small (a few KiB per node) and in cache. */
export const BLOCK_ROWS = 512;

/** The numeric variables, by their index in RuleBlock.numbers. */
export const NUMBER_SLOTS = [
  'amount',
  'hour',
  'day_of_week',
  'merchant_category',
  'transaction_type',
  'anomaly_score',
  'risk_score',
] as const satisfies readonly RuleVariable[];
/** The string variables, by their index in RuleBlock.strings (absent legacy fields are ""). */
export const STRING_SLOTS = [
  'merchant',
  'category',
  'type',
  'reference',
  'risk_level',
] as const satisfies readonly RuleVariable[];

/** The variables of `n` transactions (n <= BLOCK_ROWS), column by column. */
export interface RuleBlock {
  n: number;
  numbers: Float64Array[];
  strings: string[][];
  isAnomaly: Uint8Array;
}

export function newRuleBlock(): RuleBlock {
  return {
    n: 0,
    numbers: NUMBER_SLOTS.map(() => new Float64Array(BLOCK_ROWS)),
    strings: STRING_SLOTS.map(() => new Array<string>(BLOCK_ROWS).fill('')),
    isAnomaly: new Uint8Array(BLOCK_ROWS),
  };
}

type Num =
  | { t: 'double' | 'int'; c: number; f: null }
  | { t: 'double' | 'int'; c: null; f: (b: RuleBlock) => Float64Array };
type Str = { t: 'string'; c: string; f: null } | { t: 'string'; c: null; f: (b: RuleBlock) => string[] };
type Bool = { t: 'bool'; c: boolean; f: null } | { t: 'bool'; c: null; f: (b: RuleBlock) => Uint8Array };
type Node = Num | Str | Bool;

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The expression as a block evaluator (1 where it holds, row by row, in a scratch array it owns), or null. */
export function compileColumns(expr: Expr): ((b: RuleBlock) => Uint8Array) | null {
  const node = build(expr);
  if (!node || node.t !== 'bool') return null;
  return bools(node); // a constant rule (`true`) is one array filled once
}

function build(e: Expr): Node | null {
  const kind = e.exprKind;
  switch (kind.case) {
    case 'constExpr': {
      const c = kind.value.constantKind;
      if (c.case === 'boolValue') return { t: 'bool', c: c.value, f: null };
      if (c.case === 'doubleValue') return { t: 'double', c: c.value, f: null };
      if (c.case === 'int64Value' && c.value <= SAFE && c.value >= -SAFE)
        return { t: 'int', c: Number(c.value), f: null };
      if (c.case === 'stringValue') return { t: 'string', c: c.value, f: null };
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

function variable(name: string): Node | null {
  if (!Object.hasOwn(RULE_VARIABLES, name)) return null;
  const n = (NUMBER_SLOTS as readonly string[]).indexOf(name);
  if (n >= 0) return { t: 'double', c: null, f: (b) => b.numbers[n] };
  const s = (STRING_SLOTS as readonly string[]).indexOf(name);
  if (s >= 0) return { t: 'string', c: null, f: (b) => b.strings[s] };
  if (name === 'is_anomaly') return { t: 'bool', c: null, f: (b) => b.isAnomaly };
  return null;
}

const isNum = (n: Node): n is Num => n.t === 'double' || n.t === 'int';
const scratch = () => new Uint8Array(BLOCK_ROWS);

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
    case '_&&_':
    case '_||_':
      return a.t === 'bool' && b.t === 'bool' ? logic(fn === '_&&_', a, b) : null;
    case '!_': {
      if (a.t !== 'bool') return null;
      if (a.f === null) return { t: 'bool', c: !a.c, f: null };
      const p = a.f;
      const out = scratch();
      return {
        t: 'bool',
        c: null,
        f: (blk) => {
          const x = p(blk);
          for (let i = 0; i < blk.n; i++) out[i] = x[i] ^ 1;
          return out;
        },
      };
    }
    case '_?_:_':
      return a.t === 'bool' ? choice(a, b, args[2]) : null;
    case '_==_':
    case '_!=_':
      return equality(fn === '_!=_', a, b);
    case '_<_':
    case '_<=_':
    case '_>_':
    case '_>=_':
      return isNum(a) && isNum(b) ? compare(fn, a, b) : null;
    case '_+_':
    case '_-_':
    case '_*_':
    case '_/_':
      return a.t === 'double' && b.t === 'double' ? arithmetic(fn, a, b) : null;
    case '-_':
      if (a.t === 'double') return arithmetic('_-_', { t: 'double', c: 0, f: null }, a, true);
      return a.t === 'int' && a.f === null && a.c !== 0 ? { t: 'int', c: -a.c, f: null } : null;
    default:
      return null;
  }
}

/** A node's values for the block: its own array, or its constant repeated (into a scratch array made once). */
function numbers(n: Num): (b: RuleBlock) => Float64Array {
  if (n.f) return n.f;
  const out = new Float64Array(BLOCK_ROWS).fill(n.c);
  return () => out;
}

/** A boolean node as a block evaluator; a constant is one array filled once, not one per block. */
function bools(n: Bool): (b: RuleBlock) => Uint8Array {
  if (n.f) return n.f;
  const out = new Uint8Array(BLOCK_ROWS).fill(n.c ? 1 : 0);
  return () => out;
}

function logic(and: boolean, a: Bool, b: Bool): Bool {
  if (a.f === null && b.f === null) return { t: 'bool', c: and ? a.c && b.c : a.c || b.c, f: null };
  if (a.f === null || b.f === null) {
    const [k, other] = a.f === null ? [a.c, b as Bool] : [(b as { c: boolean }).c, a];
    // true && x = x, false && x = false; false || x = x, true || x = true
    if (and ? k : !k) return other;
    return { t: 'bool', c: !and, f: null };
  }
  const [p, q] = [a.f, b.f];
  const out = scratch();
  return {
    t: 'bool',
    c: null,
    f: and
      ? (blk) => {
          const x = p(blk);
          const y = q(blk);
          for (let i = 0; i < blk.n; i++) out[i] = x[i] & y[i];
          return out;
        }
      : (blk) => {
          const x = p(blk);
          const y = q(blk);
          for (let i = 0; i < blk.n; i++) out[i] = x[i] | y[i];
          return out;
        },
  };
}

function choice(cond: Bool, a: Node, b: Node): Node | null {
  const p = bools(cond);
  if (isNum(a) && isNum(b) && a.t === b.t) {
    const [x, y] = [numbers(a), numbers(b)];
    const out = new Float64Array(BLOCK_ROWS);
    return {
      t: a.t,
      c: null,
      f: (blk) => {
        const c = p(blk);
        const u = x(blk);
        const v = y(blk);
        for (let i = 0; i < blk.n; i++) out[i] = c[i] ? u[i] : v[i];
        return out;
      },
    };
  }
  if (a.t === 'bool' && b.t === 'bool') {
    const [x, y] = [bools(a), bools(b)];
    const out = scratch();
    return {
      t: 'bool',
      c: null,
      f: (blk) => {
        const c = p(blk);
        const u = x(blk);
        const v = y(blk);
        for (let i = 0; i < blk.n; i++) out[i] = c[i] ? u[i] : v[i];
        return out;
      },
    };
  }
  return null; // strings: row by row
}

function equality(negate: boolean, a: Node, b: Node): Bool | null {
  const r = negate ? 0 : 1;
  const w = negate ? 1 : 0;
  if (isNum(a) && isNum(b)) {
    const [x, y] = [numbers(a), numbers(b)];
    const out = scratch();
    return {
      t: 'bool',
      c: null,
      f: (blk) => {
        const u = x(blk);
        const v = y(blk);
        for (let i = 0; i < blk.n; i++) out[i] = u[i] === v[i] ? r : w;
        return out;
      },
    };
  }
  if (a.t === 'string' && b.t === 'string') {
    if (a.f === null && b.f === null) return { t: 'bool', c: (a.c === b.c) !== negate, f: null };
    const out = scratch();
    if (a.f && b.f) {
      const [p, q] = [a.f, b.f];
      return {
        t: 'bool',
        c: null,
        f: (blk) => {
          const u = p(blk);
          const v = q(blk);
          for (let i = 0; i < blk.n; i++) out[i] = u[i] === v[i] ? r : w;
          return out;
        },
      };
    }
    const [p, k] = a.f ? [a.f, b.c as string] : [(b as { f: (b: RuleBlock) => string[] }).f, a.c as string];
    return {
      t: 'bool',
      c: null,
      f: (blk) => {
        const u = p(blk);
        for (let i = 0; i < blk.n; i++) out[i] = u[i] === k ? r : w;
        return out;
      },
    };
  }
  if (a.t === 'bool' && b.t === 'bool') {
    const [x, y] = [bools(a), bools(b)];
    const out = scratch();
    return {
      t: 'bool',
      c: null,
      f: (blk) => {
        const u = x(blk);
        const v = y(blk);
        for (let i = 0; i < blk.n; i++) out[i] = u[i] === v[i] ? r : w;
        return out;
      },
    };
  }
  return null;
}

function compare(fn: string, a: Num, b: Num): Bool {
  const out = scratch();
  if (a.f && b.f === null) {
    const [p, k] = [a.f, b.c]; // the usual form, `amount > 3000`
    const loops: Record<string, (blk: RuleBlock) => Uint8Array> = {
      '_<_': (blk) => {
        const u = p(blk);
        for (let i = 0; i < blk.n; i++) out[i] = u[i] < k ? 1 : 0;
        return out;
      },
      '_<=_': (blk) => {
        const u = p(blk);
        for (let i = 0; i < blk.n; i++) out[i] = u[i] <= k ? 1 : 0;
        return out;
      },
      '_>_': (blk) => {
        const u = p(blk);
        for (let i = 0; i < blk.n; i++) out[i] = u[i] > k ? 1 : 0;
        return out;
      },
      '_>=_': (blk) => {
        const u = p(blk);
        for (let i = 0; i < blk.n; i++) out[i] = u[i] >= k ? 1 : 0;
        return out;
      },
    };
    return { t: 'bool', c: null, f: loops[fn] };
  }
  const [x, y] = [numbers(a), numbers(b)];
  const test: Record<string, (u: number, v: number) => boolean> = {
    '_<_': (u, v) => u < v,
    '_<=_': (u, v) => u <= v,
    '_>_': (u, v) => u > v,
    '_>=_': (u, v) => u >= v,
  };
  const t = test[fn];
  return {
    t: 'bool',
    c: null,
    f: (blk) => {
      const u = x(blk);
      const v = y(blk);
      for (let i = 0; i < blk.n; i++) out[i] = t(u[i], v[i]) ? 1 : 0;
      return out;
    },
  };
}

function arithmetic(fn: string, a: Num, b: Num, negate = false): Num {
  const [x, y] = [numbers(a), numbers(b)];
  const out = new Float64Array(BLOCK_ROWS);
  const loop = (op: (u: number, v: number) => number) => (blk: RuleBlock) => {
    const u = x(blk);
    const v = y(blk);
    for (let i = 0; i < blk.n; i++) out[i] = op(u[i], v[i]);
    return out;
  };
  const ops: Record<string, (u: number, v: number) => number> = {
    '_+_': (u, v) => u + v,
    '_-_': negate ? (_u, v) => -v : (u, v) => u - v, // -x, not 0 - x: -0 stays -0
    '_*_': (u, v) => u * v,
    '_/_': (u, v) => u / v,
  };
  return { t: 'double', c: null, f: loop(ops[fn]) };
}

function membership(item: Node, list: Expr): Bool | null {
  if (list.exprKind.case !== 'listExpr' || item.t === 'bool') return null;
  const values: (number | string)[] = [];
  for (const el of list.exprKind.value.elements) {
    const n = build(el);
    if (!n || n.f !== null || n.t === 'bool' || isNum(n) !== isNum(item)) return null;
    values.push(n.c);
  }
  const set = new Set<number | string>(values);
  const p = (item.f ?? (() => [item.c])) as (b: RuleBlock) => ArrayLike<number | string>;
  const out = scratch();
  return {
    t: 'bool',
    c: null,
    f: (blk) => {
      const u = p(blk);
      if (item.f === null) return out.fill(set.has(u[0]) ? 1 : 0);
      for (let i = 0; i < blk.n; i++) out[i] = set.has(u[i]) ? 1 : 0;
      return out;
    },
  };
}

function method(fn: string, target: Expr, args: Expr[]): Bool | null {
  if (args.length !== 1 || (fn !== 'contains' && fn !== 'startsWith' && fn !== 'endsWith')) return null;
  const s = build(target);
  const a = build(args[0]);
  if (!s || !a || s.t !== 'string' || a.t !== 'string' || s.f === null || a.f !== null) return null; // text.f("x")
  const [p, k] = [s.f, a.c];
  const out = scratch();
  const loops = {
    contains: (blk: RuleBlock) => {
      const u = p(blk);
      for (let i = 0; i < blk.n; i++) out[i] = u[i].includes(k) ? 1 : 0;
      return out;
    },
    startsWith: (blk: RuleBlock) => {
      const u = p(blk);
      for (let i = 0; i < blk.n; i++) out[i] = u[i].startsWith(k) ? 1 : 0;
      return out;
    },
    endsWith: (blk: RuleBlock) => {
      const u = p(blk);
      for (let i = 0; i < blk.n; i++) out[i] = u[i].endsWith(k) ? 1 : 0;
      return out;
    },
  };
  return { t: 'bool', c: null, f: loops[fn] };
}
