import { formatKey, newKeySecret, ROLE_PERMISSIONS, ROLES } from '../../core/api-keys.js';
import { SecureflowError } from '../../core/errors.js';
import type { Role } from '../../db/store.js';
import { withStore } from '../database.js';
import { renderTable } from '../table.js';
import { resolveFormat, type IOStreams } from '../io.js';

interface KeysOptions {
  db?: string;
  format?: 'table' | 'json' | 'text';
}

const wantsJson = (format: 'table' | 'json' | 'text' | undefined, io: IOStreams) =>
  resolveFormat(format, io, 'table', 'json') === 'json';

/** Creates an API key. The key is shown once, here; only its SHA-256 is stored. */
export async function runKeysCreate(opts: KeysOptions & { name: string; role: string }, io: IOStreams): Promise<void> {
  if (!ROLES.includes(opts.role as Role))
    throw new SecureflowError('usage', `--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(opts.role)}`);
  if (opts.name.trim() === '') throw new SecureflowError('usage', '--name must not be empty');
  const { secret, hash } = await newKeySecret();
  await withStore(opts.db, async (store) => {
    const key = await store.createKey(opts.name.trim(), opts.role as Role, hash);
    const value = formatKey(key.id, secret);
    if (opts.format === 'json')
      io.stdout.write(`${JSON.stringify({ id: key.id, name: key.name, role: key.role, key: value })}\n`);
    else {
      io.stdout.write(`${value}\n`);
      if (io.stderr.isTTY)
        io.stderr.write(
          `key ${key.id} (${key.role}: ${ROLE_PERMISSIONS[key.role].join(', ')}) — store it now, it is not shown again\n`,
        );
    }
  });
}

export async function runKeysList(opts: KeysOptions, io: IOStreams): Promise<void> {
  await withStore(
    opts.db,
    async (store) => {
      const keys = await store.listKeys();
      if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify(keys)}\n`);
      else
        io.stdout.write(
          renderTable(
            ['id', 'name', 'role', 'created_at', 'last_used_at', 'revoked_at'],
            keys.map((k) => [k.id, k.name, k.role, k.created_at, k.last_used_at, k.revoked_at]),
          ),
        );
    },
    { mustExist: true },
  );
}

export async function runKeysRevoke(idText: string, opts: KeysOptions, io: IOStreams): Promise<void> {
  const id = Number(idText);
  if (!/^\d+$/.test(idText) || id < 1)
    throw new SecureflowError('usage', `key id must be a positive integer, got ${JSON.stringify(idText)}`);
  await withStore(
    opts.db,
    async (store) => {
      const key = await store.revokeKey(id);
      if (!key) throw new SecureflowError('not_found', `key ${id} not found`);
      if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify(key)}\n`);
      else io.stdout.write(`key ${id} (${key.name}) revoked at ${key.revoked_at}\n`);
    },
    { mustExist: true },
  );
}
