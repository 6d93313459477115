// Static checks of the deployment files: fly.toml, the Dockerfile and .dockerignore agree with each other and
// with the daemon (its default port, health route, shutdown deadline). The image itself is exercised by
// scripts/container-test.sh (npm run test:container), which needs podman.
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { SERVE_DEFAULTS } from '../../src/daemon/options.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

const fly = parse(read('../../fly.toml')) as Record<string, any>;
const flyText = read('../../fly.toml');

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with line continuations joined and comments dropped, grouped by stage. */
function dockerfileStages(text: string): { args: Map<string, string>; stages: Instruction[][] } {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    lines.push(pending + line);
    pending = '';
  }
  const globalArgs = new Map<string, string>();
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const match = /^(\S+)\s*(.*)$/.exec(line)!;
    const instruction = { keyword: match[1].toUpperCase(), args: match[2].trim() };
    if (instruction.keyword === 'FROM') stages.push([]);
    if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [name, value = ''] = instruction.args.split('=', 2);
        globalArgs.set(name.trim(), value.trim().replace(/^"|"$/g, ''));
      }
      continue;
    }
    stages[stages.length - 1].push(instruction);
  }
  return { args: globalArgs, stages };
}

const dockerfile = read('../../Dockerfile');
const { args: dockerArgs, stages } = dockerfileStages(dockerfile);
const finalStage = stages[stages.length - 1];
const all = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);
/** ENV KEY=VALUE pairs (the multi-pair form) of a stage. */
function envOf(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of all(stage, 'ENV')) {
    for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  return env;
}

describe('fly.toml', () => {
  it('names the app and builds from the Dockerfile', () => {
    // As in the original deployment: `secureflow` is the front end's app, the daemon is the backend.
    expect(fly.app).toBe('secureflow-backend');
    expect(typeof fly.primary_region).toBe('string');
    expect(fly.build?.dockerfile).toBe('Dockerfile');
  });

  it('serves on the port the image exposes and the daemon defaults to', () => {
    const exposed = all(finalStage, 'EXPOSE').map((i) => Number.parseInt(i.args, 10));
    expect(fly.http_service.internal_port).toBe(5001);
    expect(exposed).toEqual([fly.http_service.internal_port]);
    expect(SERVE_DEFAULTS.port).toBe(fly.http_service.internal_port);
    expect(fly.env.PORT).toBe(String(fly.http_service.internal_port));
    expect(envOf(finalStage).PORT).toBe(String(fly.http_service.internal_port));
  });

  it('listens on every interface: IPv4 for Fly proxy, IPv6 for the private network', () => {
    expect(fly.env.HOST).toBe('::');
    expect(envOf(finalStage).HOST).toBe('0.0.0.0'); // the image alone (docker run -p) needs IPv4 only
  });

  it("documents the front end's set-up: the app it proxies to, the analyst key, CORS replacing the default", () => {
    const backend = `http://${fly.app}.internal:${fly.http_service.internal_port}`;
    expect(flyText).toContain(`SECUREFLOW_BACKEND = "${backend}"`);
    expect(readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8')).toContain(backend);
    expect(flyText).toMatch(/keys create --name frontend --role analyst/);
    expect(flyText).toMatch(/fly secrets set -a secureflow SECUREFLOW_API_KEY=/);
    expect(flyText).toMatch(/CORS_ORIGINS[\s\S]*REPLACES the default list \(http:\/\/localhost:3000/);
    expect(SERVE_DEFAULTS.corsOrigins).toEqual(['http://localhost:3000']);
    // .internal finds running machines only.
    expect(fly.http_service.min_machines_running).toBeGreaterThanOrEqual(1);
  });

  it('health-checks GET /api/health with interval, timeout and grace period', () => {
    const checks = fly.http_service.checks as Record<string, unknown>[];
    expect(Array.isArray(checks)).toBe(true);
    const health = checks.find((c) => c.path === '/api/health');
    expect(health).toBeDefined();
    expect(String(health!.method ?? 'GET').toUpperCase()).toBe('GET');
    for (const key of ['interval', 'timeout', 'grace_period']) expect(health![key], key).toMatch(/^\d+(ms|s|m)$/);
  });

  it('runs migrations as the release command', () => {
    expect(fly.deploy.release_command).toMatch(/^node bin\/secureflow migrate\b/);
  });

  it('keeps secrets out: no database or Redis URL, nor credentials, in [env] or anywhere outside comments', () => {
    const env = fly.env as Record<string, unknown>;
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'SECUREFLOW_DB']) expect(env, name).not.toHaveProperty(name);
    for (const [name, value] of Object.entries(env)) {
      expect(name).not.toMatch(/SECRET|PASSWORD|TOKEN|API_?KEY/i);
      expect(String(value)).not.toMatch(/^(postgres(ql)?|rediss?):\/\//i);
    }
    const code = flyText
      .split('\n')
      .map((line) => line.replace(/#.*$/, ''))
      .join('\n');
    expect(code).not.toMatch(/(postgres(ql)?|rediss?):\/\//i);
    // The comments say where they go instead.
    expect(flyText).toMatch(/fly secrets set DATABASE_URL/);
  });

  it('stops idle machines and starts them on demand', () => {
    expect(['stop', 'suspend']).toContain(fly.http_service.auto_stop_machines);
    expect(fly.http_service.auto_start_machines).toBe(true);
    expect(fly.http_service.min_machines_running).toBeGreaterThanOrEqual(0);
    expect(fly.http_service.force_https).toBe(true);
  });

  it('sets request concurrency limits, soft below hard', () => {
    const c = fly.http_service.concurrency;
    expect(c.type).toBe('requests');
    expect(Number.isInteger(c.soft_limit) && c.soft_limit > 0).toBe(true);
    expect(Number.isInteger(c.hard_limit) && c.hard_limit >= c.soft_limit).toBe(true);
  });

  it('gives the daemon longer than its own shutdown deadline before SIGKILL', () => {
    expect(['SIGTERM', 'SIGINT']).toContain(fly.kill_signal ?? 'SIGINT');
    expect(fly.kill_timeout * 1000).toBeGreaterThan(SERVE_DEFAULTS.shutdownTimeoutMs);
  });

  it('sizes the VM', () => {
    const vm = fly.vm?.[0];
    expect(vm?.size ?? vm?.cpu_kind).toBeTruthy();
    expect(vm?.memory).toMatch(/^\d+(mb|gb)$/i);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage, on Node 22 LTS by default, with the base images as build args', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerArgs.get('BASE_IMAGE')).toMatch(/^node:22[.-]/);
    expect(dockerArgs.get('BUILD_IMAGE')).toMatch(/^node:22[.-]/);
    expect(stages[0][0].args).toMatch(/^\$\{BUILD_IMAGE\}\s+AS\s+build$/i);
    expect(finalStage[0].args).toMatch(/^\$\{BASE_IMAGE\}(\s|$)/);
  });

  it('drops the dev dependencies before the final stage copies node_modules', () => {
    const runs = stages.slice(0, -1).flatMap((s) => all(s, 'RUN').map((i) => i.args));
    expect(runs.some((r) => /npm (prune|ci|install)\b.*--omit=dev/.test(r))).toBe(true);
    expect(all(finalStage, 'COPY').some((i) => /--from=build\s+\S*node_modules/.test(i.args))).toBe(true);
  });

  it('runs as a non-root user', () => {
    const users = all(finalStage, 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/);
  });

  it('has a HEALTHCHECK on /api/health that needs no curl', () => {
    const checks = all(finalStage, 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    expect(checks[0].args).toContain('/api/health');
    expect(checks[0].args).toMatch(/CMD\s+node\b/);
  });

  it('starts the daemon in production mode', () => {
    expect(envOf(finalStage).NODE_ENV).toBe('production');
    const cmd = all(finalStage, 'CMD').at(-1)!.args;
    expect(JSON.parse(cmd)).toEqual(['node', 'bin/secureflow', 'serve']);
    // The release command runs in the same image, from the same working directory.
    expect(all(finalStage, 'WORKDIR').at(-1)?.args).toBe('/app');
  });

  it('copies from the build context only what .dockerignore lets in', () => {
    const patterns = read('../../.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(patterns[0]).toBe('*'); // an allowlist
    const allowed = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/\/$/, ''));
    const sources = stages
      .flatMap((s) => all(s, 'COPY'))
      .filter((i) => !/--from=/.test(i.args))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(allowed, source).toContain(source.replace(/\/$/, ''));
    for (const never of ['node_modules', 'dist', '.git']) expect(allowed).not.toContain(never);
  });
});
