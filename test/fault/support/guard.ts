import { spawnSync } from 'node:child_process';
import { describe } from 'vitest';
import { postgresReachable } from './backends.js';

const pgDown = await postgresReachable();
const requirePg = process.env.SECUREFLOW_REQUIRE_POSTGRES === '1';
if (pgDown !== null && !requirePg) console.warn(`\n*** SKIPPING fault scenarios that need Postgres: ${pgDown} ***\n`);

/** describe() that skips without Postgres, unless SECUREFLOW_REQUIRE_POSTGRES=1 (then the scenario fails). */
export const describeWithPostgres = pgDown !== null && !requirePg ? describe.skip : describe;

/** The Redis scenarios start a private redis-server (never the shared one): without the binary they skip,
 * unless SECUREFLOW_REQUIRE_REDIS=1. */
const noRedisServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0;
const requireRedis = process.env.SECUREFLOW_REQUIRE_REDIS === '1';
if (noRedisServer && !requireRedis)
  console.warn('\n*** SKIPPING fault scenarios that need redis-server: not installed ***\n');
export const describeWithRedisServer = noRedisServer && !requireRedis ? describe.skip : describe;
/** Postgres and a private redis-server. */
export const describeWithBoth =
  (pgDown !== null && !requirePg) || (noRedisServer && !requireRedis) ? describe.skip : describe;
