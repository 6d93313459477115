import { describe } from 'vitest';
import { postgresReachable } from './backends.js';

const pgDown = await postgresReachable();
const requirePg = process.env.SECUREFLOW_REQUIRE_POSTGRES === '1';
if (pgDown !== null && !requirePg) console.warn(`\n*** SKIPPING fault scenarios that need Postgres: ${pgDown} ***\n`);

/** describe() that skips without Postgres, unless SECUREFLOW_REQUIRE_POSTGRES=1 (then the scenario fails). */
export const describeWithPostgres = pgDown !== null && !requirePg ? describe.skip : describe;
