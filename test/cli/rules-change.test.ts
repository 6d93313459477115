/** secureflow rules change, through the built CLI: one history row per change, refusals that change nothing. */
import { mkdtempSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from './run-cli.js';

const db = join(mkdtempSync(join(tmpdir(), 'secureflow-rules-change-')), 'rules.db');
const rules = (args: string[]) => cli(['rules', ...args, '--db', db]);

it("changes a rule's expression, action and description, each call one history row; refusals change nothing", () => {
  expect(rules(['add', 'big', '--when', 'amount > 1000', '--action', 'review', '--description', 'large']).code).toBe(0);
  const changed = rules(['change', 'big', '--when', 'amount > 5000 && hour < 6', '--action', 'block']);
  expect(changed).toMatchObject({ code: 0, stderr: '' });
  expect(changed.stdout).toBe('rule big (block, enabled): amount > 5000 && hour < 6\n');
  const cleared = JSON.parse(rules(['change', 'big', '--description', '', '-f', 'json']).stdout);
  expect(cleared).toMatchObject({ expression: 'amount > 5000 && hour < 6', action: 'block', description: null });

  const bad = rules(['change', 'big', '--when', 'amount > "x"']);
  expect(bad.code).toBe(3);
  expect(bad.stderr).toMatch(/line 1, column \d+: cannot compare a double with a string/);
  expect(rules(['change', 'big']).code).toBe(2); // nothing to change
  expect(rules(['change', 'big', '--action', 'deny']).code).toBe(2);
  const missing = rules(['change', 'nope', '--action', 'allow']);
  expect(missing.code).toBe(4);
  expect(missing.stderr).toMatch(/no rule named nope/);

  const { rule, history } = JSON.parse(rules(['show', 'big', '-f', 'json']).stdout);
  expect(rule).toStrictEqual(cleared);
  const me = userInfo().username;
  expect(history.map((h: Record<string, unknown>) => [h.change, h.changed_by, h.expression, h.description])).toEqual([
    ['added', me, 'amount > 1000', 'large'],
    ['changed', me, 'amount > 5000 && hour < 6', 'large'],
    ['changed', me, 'amount > 5000 && hour < 6', null],
  ]);
});
