import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXECUTABLE = join(ROOT, 'dist', `secureflow-${process.platform}-${process.arch}`);
export const built = existsSync(EXECUTABLE);

// Every Node binary within reach: the one running the tests, and any the system has on the usual PATH.
const NODES = [
  ...new Set(
    [process.execPath, '/usr/local/bin/node', '/usr/bin/node', '/bin/node']
      .filter((p) => existsSync(p))
      .map((p) => realpathSync(p)),
  ),
];
// As root (CI), each run gets a private mount namespace in which Node's binaries are /dev/null and the checkout's
// node_modules is empty: the executable must work with neither. Elsewhere it runs with PATH holding no node.
// SECUREFLOW_TEST_HIDE_NODE=0 takes the other way as root too (to check it).
export const canHideNode =
  process.env.SECUREFLOW_TEST_HIDE_NODE !== '0' &&
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;
const HIDE = `${NODES.map((n) => `mount --bind /dev/null "${n}" && `).join('')}mount -t tmpfs none "${join(ROOT, 'node_modules')}" && exec "$@"`;

/**
 * PATH for the runs. Where Node cannot be hidden, a folder holding links to the few tools the tests use and
 * nothing else, so that no `node` is on PATH even where the system has one in /usr/bin.
 */
function testPath(): string {
  const system = '/usr/sbin:/usr/bin:/sbin:/bin';
  if (canHideNode) return system;
  const dir = mkdtempSync(join(tmpdir(), 'secureflow-exe-path-'));
  for (const tool of ['sh', 'script', 'stty']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(dir, tool));
  }
  return dir;
}
const PATH = testPath();

/** A fresh user: an empty home (so an empty cache and data folder) and an empty working directory. */
export function freshUser(): { home: string; cwd: string; env: Record<string, string> } {
  const home = mkdtempSync(join(tmpdir(), 'secureflow-exe-home-'));
  const cwd = mkdtempSync(join(tmpdir(), 'secureflow-exe-cwd-'));
  return { home, cwd, env: { HOME: home, PATH, NO_COLOR: '1', LANG: 'C.UTF-8' } };
}

/** The command line for `argv`, inside the namespace that hides Node where that is possible. */
function hidden(argv: string[]): [string, string[]] {
  return canHideNode
    ? ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', HIDE, 'sh', ...argv]]
    : [argv[0], argv.slice(1)];
}

/** The command line that runs the executable with `args`, Node hidden where possible. */
export function exeCommand(args: string[]): [string, string[]] {
  return hidden([EXECUTABLE, ...args]);
}

export function runExe(
  args: string[],
  user: { cwd: string; env: Record<string, string> },
  input = '',
): SpawnSyncReturns<string> {
  const [cmd, argv] = exeCommand(args);
  return spawnSync(cmd, argv, { cwd: user.cwd, env: user.env, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** Runs a command in the same hidden-Node setting (to show that Node really is out of reach there). */
export function runHidden(
  script: string,
  user: { cwd: string; env: Record<string, string> },
): SpawnSyncReturns<string> {
  const [cmd, argv] = hidden(['/bin/sh', '-c', script]);
  return spawnSync(cmd, argv, { cwd: user.cwd, env: user.env, encoding: 'utf8' });
}

export function spawnExe(args: string[], user: { cwd: string; env: Record<string, string> }) {
  const [cmd, argv] = exeCommand(args);
  return spawn(cmd, argv, { cwd: user.cwd, env: user.env, stdio: ['ignore', 'pipe', 'pipe'] });
}
