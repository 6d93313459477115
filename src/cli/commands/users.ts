import { ROLE_PERMISSIONS, ROLES } from '../../core/api-keys.js';
import { SecureflowError } from '../../core/errors.js';
import { checkPassword, hashPassword, normaliseUsername } from '../../core/passwords.js';
import type { Role, User } from '../../db/store.js';
import { withStore } from '../database.js';
import { resolveFormat, type IOStreams } from '../io.js';
import { readPassword } from '../password-input.js';
import { renderTable } from '../table.js';

interface UsersOptions {
  db?: string;
  format?: 'table' | 'json' | 'text';
  passwordStdin?: boolean;
}

const wantsJson = (format: UsersOptions['format'], io: IOStreams) =>
  resolveFormat(format, io, 'table', 'json') === 'json';

/** The new password, typed twice at a terminal, or read once from stdin; checked before anything is stored. */
async function newPassword(opts: UsersOptions, io: IOStreams, username: string): Promise<string> {
  const password = await readPassword(io, { stdin: opts.passwordStdin, prompt: `password for ${username}: ` });
  checkPassword(password);
  if (!opts.passwordStdin) {
    const again = await readPassword(io, { prompt: 'again: ' });
    if (again !== password) throw new SecureflowError('usage', 'the two passwords differ: nothing was changed');
  }
  return password;
}

/** Adds a user who logs in (POST /api/auth/login, secureflow login) for a token with their role. */
export async function runUsersAdd(name: string, opts: UsersOptions & { role: string }, io: IOStreams): Promise<void> {
  if (!ROLES.includes(opts.role as Role))
    throw new SecureflowError('usage', `--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(opts.role)}`);
  const username = normaliseUsername(name);
  const hash = await hashPassword(await newPassword(opts, io, username));
  await withStore(opts.db, async (store) => {
    const user = await store.createUser(username, opts.role as Role, hash);
    if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify(user)}\n`);
    else
      io.stdout.write(
        `user ${user.username} added (${user.role}: ${ROLE_PERMISSIONS[user.role].join(', ')}); a daemon needs JWT_SECRET to sign their logins off loopback\n`,
      );
  });
}

export async function runUsersList(opts: UsersOptions, io: IOStreams): Promise<void> {
  await withStore(
    opts.db,
    async (store) => {
      const users = await store.listUsers();
      if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify(users)}\n`);
      else
        io.stdout.write(
          renderTable(
            ['username', 'role', 'created_at', 'updated_at', 'disabled_at'],
            users.map((u) => [u.username, u.role, u.created_at, u.updated_at, u.disabled_at]),
          ),
        );
    },
    { mustExist: true },
  );
}

async function changeUser(
  name: string,
  opts: UsersOptions,
  io: IOStreams,
  change: (username: string) => Promise<(store: import('../../db/store.js').Store) => Promise<User | null>>,
  said: (user: User) => string,
): Promise<void> {
  const username = normaliseUsername(name);
  const apply = await change(username);
  await withStore(
    opts.db,
    async (store) => {
      const user = await apply(store);
      if (!user) throw new SecureflowError('not_found', `no user named ${username} (secureflow users list)`);
      if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify(user)}\n`);
      else io.stdout.write(`${said(user)}\n`);
    },
    { mustExist: true },
  );
}

/** Disables a user: their login fails and every token they hold stops working (within seconds on a daemon). */
export async function runUsersDisable(name: string, opts: UsersOptions, io: IOStreams): Promise<void> {
  await changeUser(
    name,
    opts,
    io,
    async (username) => (store) => store.disableUser(username),
    (u) => `user ${u.username} disabled at ${u.disabled_at}: their tokens no longer work`,
  );
}

/** Sets a new password; tokens issued before it stop working. */
export async function runUsersPasswd(name: string, opts: UsersOptions, io: IOStreams): Promise<void> {
  await changeUser(
    name,
    opts,
    io,
    async (username) => {
      const hash = await hashPassword(await newPassword(opts, io, username));
      return (store) => store.setUserPassword(username, hash);
    },
    (u) => `password of ${u.username} changed: tokens issued before now no longer work`,
  );
}
