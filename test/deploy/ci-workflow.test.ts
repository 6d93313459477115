// Static checks of .github/workflows/ci.yml (GitHub cannot be reached from here): it runs the README's test
// command against real Postgres and Redis, packages, and deploys to Fly.io only from main after the tests.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};
const text = readFileSync(new URL('../../.github/workflows/ci.yml', import.meta.url), 'utf8');
const workflow = parse(text) as {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<
    string,
    {
      needs?: string;
      if?: string;
      services?: Record<string, any>;
      env?: Record<string, string>;
      steps: { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> }[];
    }
  >;
};
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const runs = (job: string) => workflow.jobs[job].steps.map((s) => s.run ?? '').filter(Boolean);

describe('the GitHub Actions workflow', () => {
  it('runs on pushes to main and on pull requests, with read-only permissions', () => {
    expect(workflow.on).toHaveProperty('pull_request');
    expect((workflow.on.push as { branches: string[] }).branches).toEqual(['main']);
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it("installs from the lockfile and runs the README's test command with Postgres and Redis required", () => {
    const testCommand = /```sh\n([^\n]+)\n```/g;
    const commands = [...readme.matchAll(testCommand)].map((m) => m[1]);
    expect(commands[1]).toBe('npm test');
    const steps = runs('test');
    expect(steps[0]).toMatch(/^npm ci\b/);
    expect(steps).toContain('timeout 1200 npm test');
    const { postgres, redis } = workflow.jobs.test.services!;
    expect(postgres.env.POSTGRES_HOST_AUTH_METHOD).toBe('trust');
    expect(postgres.env.POSTGRES_DB).toBe('test');
    expect(postgres.ports).toContain('5432:5432');
    expect(redis.ports).toContain('6379:6379');
    expect(workflow.jobs.test.env).toMatchObject({ SECUREFLOW_REQUIRE_POSTGRES: '1', SECUREFLOW_REQUIRE_REDIS: '1' });
    expect(workflow.jobs.test.env!.SECUREFLOW_TEST_PG_URL).toBe('postgres://postgres@127.0.0.1:5432/test');
  });

  it('lints and checks formatting with Biome before the tests, here and in .ci/run', () => {
    expect(pkg.scripts.lint).toBe('biome ci --diagnostic-level=error .');
    const steps = runs('test');
    expect(steps.indexOf('npm run lint')).toBeGreaterThan(-1);
    expect(steps.indexOf('npm run lint')).toBeLessThan(steps.indexOf('timeout 1200 npm test'));
    const ciRun = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(ciRun.indexOf('npm run lint')).toBeGreaterThan(-1);
    expect(ciRun.indexOf('npm run lint')).toBeLessThan(ciRun.indexOf('npm test ||'));
  });

  it('runs the fault suite (part of npm test, after the main suite), bounded in time, with what it needs', () => {
    const steps = runs('test');
    expect(pkg.scripts.test).toBe('vitest run; main=$?; vitest run -c vitest.fault.config.ts || exit $?; exit $main');
    const install = steps.findIndex((s) => s.includes('redis-server') && s.includes('tmux'));
    expect(install).toBeGreaterThan(-1);
    expect(install).toBeLessThan(steps.indexOf('timeout 1200 npm test'));
  });

  it('packages the executable and the tarball, smoke-tests both and keeps them', () => {
    const steps = runs('test');
    for (const step of ['npm run package', 'npm pack', 'bash scripts/smoke-dist.sh']) expect(steps).toContain(step);
    const upload = workflow.jobs.test.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(String(upload.with!.path)).toContain('dist/secureflow-linux-x64');
  });

  it('deploys with flyctl only from a push to main, after the tests, with the token from secrets', () => {
    const deploy = workflow.jobs.deploy;
    expect(deploy.needs).toBe('test');
    expect(deploy.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    const step = deploy.steps.find((s) => s.run?.startsWith('flyctl deploy'))!;
    expect(step.env).toEqual({ FLY_API_TOKEN: '${{ secrets.FLY_API_TOKEN }}' });
    expect(deploy.steps.some((s) => s.uses?.startsWith('superfly/flyctl-actions/setup-flyctl@'))).toBe(true);
  });

  it("pins GitHub's actions to a major version and others to a commit, and holds no secret value", () => {
    const uses = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.uses).filter(Boolean)) as string[];
    for (const u of uses) expect(u).toMatch(u.startsWith('actions/') ? /@v\d+$/ : /@[0-9a-f]{40}$/);
    expect(text).not.toMatch(/postgres:\/\/[^@\s]*:[^@\s]*@/); // no password in a URL
    const tokens = [...text.matchAll(/FLY_API_TOKEN:(.*)/g)].map((m) => m[1].trim());
    expect(tokens).toEqual(['${{ secrets.FLY_API_TOKEN }}']);
  });
});
