import { SecureflowError } from '../../core/errors.js';
import type { LoginResult } from '../../daemon/contract/shapes.js';
import { resolveFormat, type IOStreams } from '../io.js';
import { forgetLogins, saveLogin } from '../logins.js';
import { readPassword } from '../password-input.js';
import { RemoteClient, remoteTarget } from '../remote-client.js';

interface LoginOptions {
  remote?: string;
  username: string;
  passwordStdin?: boolean;
  format?: 'text' | 'json';
}

function daemonUrl(remote: string | undefined): string {
  const target = remoteTarget({ remote, apiKey: 'unused' }); // the URL only: no stored login is read here
  if (!target)
    throw new SecureflowError('usage', 'give --remote URL (or set SECUREFLOW_REMOTE): the daemon to log in to');
  return target.url;
}

/**
 * Logs in to a daemon (POST /api/auth/login) and keeps the token in the user's config folder (0600), where
 * `--remote` commands and the dashboard find it for that URL. The password is never shown or stored.
 */
export async function runLogin(opts: LoginOptions, io: IOStreams): Promise<void> {
  const url = daemonUrl(opts.remote);
  const username = opts.username.trim();
  if (username === '') throw new SecureflowError('usage', '--username must not be empty');
  const password = await readPassword(io, { stdin: opts.passwordStdin, prompt: `password for ${username}: ` });
  const client = new RemoteClient(url, null);
  const r = await client.request<LoginResult>('POST', '/api/auth/login', { json: { username, password } });
  const path = saveLogin(url, { username: r.username, role: r.role, token: r.token, expires_at: r.expires_at });
  if (resolveFormat(opts.format, io, 'text', 'json') === 'json')
    io.stdout.write(
      `${JSON.stringify({ url: client.url, username: r.username, role: r.role, expires_at: r.expires_at, saved_to: path })}\n`,
    );
  else
    io.stdout.write(
      `logged in to ${client.url} as ${r.username} (${r.role}) until ${r.expires_at}; token kept in ${path}\n`,
    );
}

/** Forgets the kept token of one daemon (or of all with --all). The token itself stays valid until it expires. */
export async function runLogout(opts: { remote?: string; all?: boolean }, io: IOStreams): Promise<void> {
  const gone = opts.all ? forgetLogins(null) : forgetLogins(daemonUrl(opts.remote));
  if (gone.length === 0) io.stdout.write('no login kept for that daemon\n');
  else for (const url of gone) io.stdout.write(`logged out of ${url}\n`);
}
