// Runs Debian's nginx (a real binary, not a stand-in) as a foreground process with deploy/nginx.conf rendered as
// the official nginx image renders its templates, in a temporary prefix with its own static root.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const TEMPLATE_PATH = new URL('../../deploy/nginx.conf', import.meta.url);

/** Where nginx is, or null. SECUREFLOW_NGINX names another binary (or, when missing, simulates none). */
export function findNginx(): string | null {
  const given = process.env.SECUREFLOW_NGINX;
  if (given) return existsSync(given) ? given : null;
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'])
    if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : null;
}

export function nginxVersion(bin: string): string {
  return spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr.trim();
}

/** The image's substitution: every ${NAME} whose NAME is given; nginx's own $variables are left alone. */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => vars[name] ?? whole);
}

/** The ${NAME}s a template expects from the environment. */
export function templateVariables(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningNginx {
  port: number;
  dir: string;
  proc: ChildProcess;
  stderr: () => string;
  logs: () => string;
  stop(): Promise<void>;
}

/** Writes nginx.conf in `dir`: a minimal main config whose only server is the rendered template. Returns its path. */
export function writeConfig(dir: string, vars: Record<string, string>): string {
  const server = renderTemplate(readFileSync(TEMPLATE_PATH, 'utf8'), vars);
  const unresolved = server.match(/\$\{\w+\}/g);
  if (unresolved) throw new Error(`template variables left unset: ${unresolved.join(', ')}`);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'default.conf'), server);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
    (k) => `  ${k}_temp_path ${join(dir, 'tmp', k)};`,
  );
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      // As root, nginx would hand its workers to `nobody`, who cannot read a private temp dir.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'daemon off;',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} info;`,
      'events { worker_connections 256; }',
      'http {',
      '  include /etc/nginx/mime.types;',
      '  default_type application/octet-stream;',
      `  access_log ${join(dir, 'access.log')};`,
      ...temp,
      `  include ${join(dir, 'default.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  return join(dir, 'nginx.conf');
}

/** `nginx -t` on the rendered template: exit code and output. */
export function testConfig(
  bin: string,
  dir: string,
  vars: Record<string, string>,
): { code: number | null; output: string } {
  const conf = writeConfig(dir, vars);
  const r = spawnSync(bin, ['-t', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { encoding: 'utf8' });
  return { code: r.status, output: r.stdout + r.stderr };
}

/** Starts nginx in `dir` with the rendered template as its only server; resolves once it answers. */
export async function startNginx(bin: string, dir: string, vars: Record<string, string>): Promise<RunningNginx> {
  writeConfig(dir, vars);
  const proc = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  const port = Number(vars.NGINX_PORT);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}: ${stderr}${read('error.log')}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not answer in 15 s: ${stderr}${read('error.log')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    dir,
    proc,
    stderr: () => stderr,
    logs: () => read('access.log') + read('error.log'),
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGQUIT'); // graceful: finish requests, then exit
      await exited;
    },
  };
}

/** Whether this machine can listen on `host` (e.g. ::1 where IPv6 is disabled). */
export function canListen(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, host, () => server.close(() => resolve(true)));
  });
}

/** startNginx on a free port; tries again on another if someone took the port in between. */
export async function startNginxOnFreePort(
  bin: string,
  dir: string,
  vars: Record<string, string>,
): Promise<RunningNginx> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNginx(bin, dir, { ...vars, NGINX_PORT: String(await freePort()) });
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
    }
  }
}
