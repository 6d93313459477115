import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CoalitionExplainer } from '../../src/model/coalition-shap.js';
import { learnConditionalFeatures, RowEncoder, CONDITIONAL_NAMES } from '../../src/model/conditional.js';
import { checkModel, parseModel, serializeModel, ModelFormatError } from '../../src/model/model-file.js';
import { IsolationForestModel } from '../../src/model/model.js';
import { createRandom, type Random } from '../../src/model/random.js';
import { growForest } from '../../src/model/forest-train.js';
import { trainModel } from '../../src/model/train.js';
import { bruteForceShap, prepareShapTree, TreeShapExplainer } from '../../src/model/tree-shap.js';

/**
 * Rows where the fields depend on the category, as in the scenario suite: category c has its own amount scale,
 * its own busy hours and its own transaction type; 2% of rows are odd for their category only.
 */
function categoryData(rows: number, rng: Random): { raw: Float64Array; labels: Uint8Array } {
  const raw = new Float64Array(rows * 5);
  const labels = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = rng.nextInt(6);
    let amount = Math.round(10 * (5 + 40 * c) * Math.exp(0.4 * rng.nextNormal())) / 10;
    let hour = (8 + 2 * c + rng.nextInt(6)) % 24;
    let type = c % 3;
    if (rng.nextFloat() < 0.02) {
      labels[i] = 1;
      const kind = rng.nextInt(3);
      if (kind === 0) amount = Math.round(10 * (5 + 40 * ((c + 3) % 6))) / 10;
      else if (kind === 1) hour = (hour + 12) % 24;
      else type = (type + 1) % 3;
    }
    raw.set([amount, hour, rng.nextInt(7), c, type], i * 5);
  }
  return { raw, labels };
}

const data = categoryData(3000, createRandom(31));
const doc = trainModel(data.raw, 3000, { seed: 5, trees: 25, conditionalFeatures: 'all' });
const encoder = new RowEncoder(doc.features, doc.conditional);
const trees = doc.forest.trees.map(prepareShapTree);
const depth = Math.max(...trees.map((t) => t.depth));

/** Rows to explain, encoded: generated ones, the odd ones, extremes and unseen codes. */
function probeRows(): Float64Array[] {
  const raw: number[][] = [];
  for (let r = 0; r < 40; r++) raw.push(Array.from(data.raw.subarray(r * 5, r * 5 + 5)));
  const odd = [...data.labels.keys()].filter((r) => data.labels[r]).slice(0, 10);
  for (const r of odd) raw.push(Array.from(data.raw.subarray(r * 5, r * 5 + 5)));
  raw.push([0, 0, 0, 0, 0], [99999, 23, 6, 5, 2], [12, 3, 1, 2000, 9], [250, 11, 2, 77, 1]);
  return raw.map((r) => {
    const x = new Float64Array(encoder.width);
    encoder.encode(Float64Array.from(r), 1, x);
    return x;
  });
}

describe('conditional features', () => {
  it('are learned from the training rows and recorded in a version 2 model file', () => {
    expect(doc.formatVersion).toBe(2);
    expect(doc.conditional!.map((c) => c.name)).toEqual(CONDITIONAL_NAMES);
    expect(doc.options.conditionalFeatures).toBe('all');
    expect(encoder.width).toBe(9);
    // Columns 5.. are split on.
    expect(doc.forest.trees.some((t) => t.feature.some((f) => f >= 5))).toBe(true);
    const amount = doc.conditional!.find((c) => c.name === 'amount_for_category');
    expect(amount && 'categories' in amount && Object.keys(amount.categories)).toEqual(['0', '1', '2', '3', '4', '5']);
    // The file round-trips through the one checked loader.
    const text = serializeModel(doc);
    expect(serializeModel(parseModel(text))).toBe(text);
  });

  it('say how odd a field is for the category: z of log amount, log share of hour and type', () => {
    const x = new Float64Array(9);
    // Category 0's amounts are around 5, category 5's around 205: 205 is ordinary overall, extreme at 0.
    encoder.encode(Float64Array.of(205, 9, 1, 0, 0), 1, x);
    const atZero = x[5];
    encoder.encode(Float64Array.of(205, 19, 1, 5, 2), 1, x);
    expect(atZero).toBeGreaterThan(5);
    expect(Math.abs(x[5])).toBeLessThan(1);
    // A transfer (type 2) at category 0, which only sees type 0: a log share far below the ordinary share (1%);
    // the category's own type is ordinary, 0 (shares from 1% up are all alike).
    encoder.encode(Float64Array.of(5, 9, 1, 0, 2), 1, x);
    const oddType = x[7];
    encoder.encode(Float64Array.of(5, 9, 1, 0, 0), 1, x);
    expect(x[7]).toBe(0);
    const categoryRows = data.labels.length / 6; // about 500 rows a category
    expect(oddType).toBeCloseTo(Math.log(1 / (categoryRows + 3) / 0.01), 0);
    expect(oddType).toBeLessThan(-1.5);
  });

  it('auto keeps those whose field depends on the category, and drops them on independent fields', () => {
    const kept = learnConditionalFeatures(data.raw, 3000, CONDITIONAL_NAMES, true).map((c) => c.name);
    expect(kept).toEqual(['amount_for_category', 'hour_for_category', 'type_for_category']); // day is independent
    const rng = createRandom(3);
    const independent = new Float64Array(3000 * 5);
    for (let i = 0; i < 3000; i++)
      independent.set(
        [Math.exp(3 + rng.nextNormal()), rng.nextInt(24), rng.nextInt(7), rng.nextInt(6), rng.nextInt(3)],
        i * 5,
      );
    expect(learnConditionalFeatures(independent, 3000, CONDITIONAL_NAMES, true)).toEqual([]);
    // None kept: a plain version 1 model, recording that auto was asked for.
    const plain = trainModel(independent, 3000, { seed: 1, trees: 5, conditionalFeatures: 'auto' });
    expect(plain.formatVersion).toBe(1);
    expect(plain.conditional).toBeUndefined();
    expect(plain.options.conditionalFeatures).toBe('auto');
    // auto is the default.
    const byDefault = trainModel(data.raw, 3000, { seed: 5, trees: 5 });
    expect(byDefault.options.conditionalFeatures).toBe('auto');
    expect(byDefault.conditional!.map((c) => c.name)).toEqual(kept);
    expect(byDefault.conditional![0].chosen).toMatchObject({ rule: 'chi-square-independence' });
  });

  it('find what is odd only for the category better than the five fields alone', () => {
    const test = categoryData(4000, createRandom(77));
    const auc = (model: IsolationForestModel): number => {
      const s = new Float64Array(4000);
      model.scoreRows(test.raw, 4000, s);
      let wins = 0;
      let pairs = 0;
      for (let i = 0; i < 4000; i++)
        if (test.labels[i])
          for (let j = 0; j < 4000; j++)
            if (!test.labels[j]) {
              pairs++;
              wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
            }
      return wins / pairs;
    };
    const plain = auc(new IsolationForestModel(trainModel(data.raw, 3000, { seed: 5, conditionalFeatures: 'none' })));
    const conditional = auc(
      new IsolationForestModel(trainModel(data.raw, 3000, { seed: 5, conditionalFeatures: 'all' })),
    );
    expect(conditional).toBeGreaterThan(plain + 0.05);
  });
});

describe('exact Shapley values over the five fields with conditional features', () => {
  const explainer = new CoalitionExplainer(encoder.reads, depth);

  it('equal brute force over all 32 coalitions with the same value function, tree by tree', () => {
    // A column is known in a coalition holding every field it reads (amount_for_category: amount and category).
    expect(Array.from(encoder.reads)).toEqual([1, 2, 4, 8, 16, 0b01001, 0b01010, 0b11000, 0b01100]);
    for (const x of probeRows()) {
      for (const tree of trees) {
        const fast = new Float64Array(5);
        explainer.explain([tree], x, 0, fast, 1);
        const slow = bruteForceShap(tree, x, 0, 5, encoder.reads);
        for (let j = 0; j < 5; j++) expect(Math.abs(fast[j] - slow[j])).toBeLessThan(1e-9);
      }
    }
  });

  it('the model explains with them: local accuracy, and the odd field is blamed', () => {
    const model = new IsolationForestModel(parseModel(serializeModel(doc)));
    expect(model.conditional).toBe(true);
    for (let r = 0; r < 100; r++) {
      const e = model.explain(data.raw, r * 5);
      const sum = Object.values(e.shap).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - (e.output - e.base))).toBeLessThan(1e-9);
    }
    // The batch path (100 rows: the tables, shap-table.ts) gives the same numbers as the walk (explain() above, no
    // tables yet: coalition-shap.ts).
    const walked = Array.from({ length: 100 }, (_, r) => model.explain(data.raw, r * 5));
    const phi = new Float64Array(100 * 5);
    model.explainRows(data.raw.subarray(0, 500), 100, phi);
    for (let r = 0; r < 100; r++) {
      const e = walked[r];
      const names = ['amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type'] as const;
      for (const [j, f] of names.entries()) expect(Math.abs(phi[r * 5 + j] - e.shap[f])).toBeLessThan(1e-9);
    }
    // A transfer at category 0 (which never sees one): type is the top field.
    const odd = model.explain(Float64Array.of(5, 10, 2, 0, 2));
    expect(Object.entries(odd.shap).sort((a, b) => b[1] - a[1])[0][0]).toBe('transaction_type');
  });

  it('on a plain model equals TreeSHAP (Algorithm 2) and brute force', () => {
    const plain = trainModel(data.raw, 3000, { seed: 5, trees: 20, conditionalFeatures: 'none' });
    const plainTrees = plain.forest.trees.map(prepareShapTree);
    const d = Math.max(...plainTrees.map((t) => t.depth));
    const coalitions = new CoalitionExplainer([1, 2, 4, 8, 16], d);
    const algorithm2 = new TreeShapExplainer(d);
    const plainEncoder = new RowEncoder(plain.features);
    for (let r = 0; r < 30; r++) {
      const x = new Float64Array(5);
      plainEncoder.encode(data.raw.subarray(r * 5, r * 5 + 5), 1, x);
      for (const tree of plainTrees) {
        const a = new Float64Array(5);
        const b = new Float64Array(5);
        coalitions.explain([tree], x, 0, a, 1);
        algorithm2.explain(tree, x, 0, b, 1);
        const c = bruteForceShap(tree, x, 0, 5);
        for (let j = 0; j < 5; j++) {
          expect(Math.abs(a[j] - c[j])).toBeLessThan(1e-9);
          expect(Math.abs(b[j] - c[j])).toBeLessThan(1e-9);
        }
      }
    }
  });
});

describe('model file with conditional features', () => {
  const obj = JSON.parse(serializeModel(doc)) as Record<string, unknown>;
  const resealed = (edit: (o: Record<string, unknown>) => void): Record<string, unknown> => {
    const copy = JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
    edit(copy);
    // Recompute the hash so only the structure check can object.
    const { id: _id, ...rest } = copy;
    copy.id = createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
    return copy;
  };

  it('training is deterministic: same seed and data, same bytes', () => {
    const again = trainModel(data.raw, 3000, { seed: 5, trees: 25, conditionalFeatures: 'all' });
    expect(serializeModel(again)).toBe(serializeModel(doc));
    expect(serializeModel(trainModel(data.raw, 3000, { seed: 6, trees: 25, conditionalFeatures: 'all' }))).not.toBe(
      serializeModel(doc),
    );
  });

  it('older version 2 files (log1p amounts, log shares with no floor) load and encode as they did', () => {
    const old = resealed((o) => {
      for (const f of o.conditional as Record<string, unknown>[]) {
        if (f.name === 'amount_for_category') f.rule = 'robust-z-log1p';
        else {
          f.rule = 'log-share';
          delete f.ordinaryShare;
        }
      }
    });
    const parsed = checkModel(old);
    const oldEncoder = new RowEncoder(parsed.features, parsed.conditional);
    const x = new Float64Array(9);
    oldEncoder.encode(Float64Array.of(205, 9, 1, 0, 2), 1, x);
    const amount = parsed.conditional!.find((c) => c.name === 'amount_for_category');
    const [median, scale] = (amount as { categories: Record<string, [number, number]> }).categories['0'];
    expect(x[5]).toBeCloseTo((Math.log1p(205) - median) / scale, 12);
    const type = parsed.conditional!.find((c) => c.name === 'type_for_category') as {
      values: number;
      counts: Record<string, Record<string, number>>;
    };
    const n = Object.values(type.counts['0']).reduce((a, b) => a + b, 0);
    expect(x[7]).toBeCloseTo(Math.log(1 / (n + type.values)), 12); // no floor: an unseen type's plain log share
    oldEncoder.encode(Float64Array.of(5, 9, 1, 0, 0), 1, x);
    expect(x[7]).toBeCloseTo(Math.log((type.counts['0']['0'] + 1) / (n + type.values)), 12);
    expect(x[7]).toBeLessThan(0);
  });

  it('conditionalWeight is recorded and changes the trees; weights of 1 are the unweighted draw', () => {
    expect(doc.options.conditionalWeight).toBe(1.5);
    const two = trainModel(data.raw, 3000, { seed: 5, trees: 25, conditionalFeatures: 'all', conditionalWeight: 2 });
    expect(two.options.conditionalWeight).toBe(2);
    expect(JSON.stringify(two.forest.trees)).not.toBe(JSON.stringify(doc.forest.trees));
    const width = encoder.width;
    const x = new Float64Array(3000 * width);
    encoder.encode(data.raw, 3000, x);
    const kinds = encoder.kinds;
    const unweighted = growForest(x, 3000, kinds, 10, 256, createRandom(9));
    const ones = growForest(x, 3000, kinds, 10, 256, createRandom(9), new Array(width).fill(1));
    expect(ones).toEqual(unweighted);
    // More weight: more of the splits on the conditional columns (5..8).
    const share = (trees: { feature: number[] }[]) => {
      const split = trees.flatMap((t) => t.feature.filter((f) => f >= 0));
      return split.filter((f) => f >= 5).length / split.length;
    };
    const heavy = growForest(x, 3000, kinds, 10, 256, createRandom(9), [1, 1, 1, 1, 1, 4, 4, 4, 4]);
    expect(share(heavy)).toBeGreaterThan(share(unweighted) + 0.1);
    expect(() => growForest(x, 3000, kinds, 1, 256, createRandom(9), [1, 1])).toThrow(/one integer in 1..128/);
  });

  it('old (version 1) files still load, the bundled model among them', () => {
    const text = readFileSync(new URL('../../src/model/default-model.json', import.meta.url), 'utf8');
    const bundled = parseModel(text);
    expect(bundled.formatVersion).toBe(1);
    expect(new IsolationForestModel(bundled).conditional).toBe(false);
  });

  it('the loader rejects malformed conditional features, saying what is wrong', () => {
    const bad = (edit: (o: Record<string, unknown>) => void, message: RegExp) => {
      expect(() => checkModel(resealed(edit))).toThrow(ModelFormatError);
      expect(() => checkModel(resealed(edit))).toThrow(message);
    };
    bad((o) => {
      o.formatVersion = 1;
    }, /conditional features need format version 2/);
    bad((o) => {
      delete o.conditional;
    }, /conditional must be a non-empty list/);
    bad((o) => {
      (o.conditional as { name: string }[])[0].name = 'amount_for_weekday';
    }, /name must be one of/);
    bad((o) => {
      (o.conditional as { reads: string[] }[])[1].reads = ['hour', 'day_of_week'];
    }, /must read hour, merchant_category/);
    bad((o) => {
      (o.conditional as { overall: number[] }[])[0].overall = [1, 0];
    }, /amount_for_category\) is malformed/);
    bad((o) => {
      (o.conditional as { counts: Record<string, Record<string, number>> }[])[1].counts['0']['3'] = -2;
    }, /hour_for_category\) is malformed/);
    bad((o) => {
      delete (o.conditional as { ordinaryShare?: number }[])[1].ordinaryShare;
    }, /hour_for_category\) is malformed/);
    bad((o) => {
      (o.conditional as { ordinaryShare?: number }[])[1].ordinaryShare = 0;
    }, /hour_for_category\) is malformed/);
    bad((o) => {
      (o.conditional as { rule: string }[])[0].rule = 'robust-z-log2';
    }, /amount_for_category\) is malformed/);
    // A tree splitting on a column the file does not define (the type column, 7: day's is constant here).
    bad((o) => {
      (o.conditional as unknown[]).splice(2);
    }, /tree \d+ is malformed/);
    expect(() => checkModel({ ...obj, formatVersion: 3 })).toThrow(/version 3 is not supported/);
  });
});
