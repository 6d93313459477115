/**
 * Login timing parity through the built daemon: a wrong username costs the same scrypt as a wrong password (a dummy
 * hash), so neither the answer nor its time tells which names exist. Serial (vitest.fault.config.ts): it measures.
 */
import { describe, expect, it } from 'vitest';
import { freshDb } from './auth-helpers.js';
import { spawnDaemon } from './daemon-process.js';
import { addUser, login, median, PASSWORD, SECRET } from './user-helpers.js';

describe('login timing (built daemon)', () => {
  it('takes as long for a wrong username as for a wrong password, with the same 401 (timing parity)', async () => {
    const db = freshDb();
    addUser(db, 'alice', 'analyst');
    const d = await spawnDaemon(['--db', db, '--login-limit', '1000', '--login-ip-limit', '1000'], {
      JWT_SECRET: SECRET,
    });
    try {
      await login(d.url, 'alice'); // warm up
      const N = 25;
      const wrongUser: number[] = [];
      const wrongPassword: number[] = [];
      const good: number[] = [];
      for (let i = 0; i < N; i++) {
        const u = await login(d.url, `nobody-${i}`);
        const p = await login(d.url, 'alice', `${PASSWORD}-wrong`);
        const g = await login(d.url, 'alice');
        expect([u.status, p.status, g.status]).toEqual([401, 401, 200]);
        expect(u.body).toEqual(p.body);
        expect(u.body).toEqual({ error: 'wrong username or password', details: {} });
        wrongUser.push(u.ms);
        wrongPassword.push(p.ms);
        good.push(g.ms);
      }
      const [mu, mp, mg] = [median(wrongUser), median(wrongPassword), median(good)];
      console.log(
        `login timing over ${N} each (median ms): wrong username ${mu.toFixed(1)}, wrong password ${mp.toFixed(1)}, good ${mg.toFixed(1)}; ratio ${(mu / mp).toFixed(3)}`,
      );
      // scrypt runs in every case (a dummy hash for unknown names): without it a wrong username would take ~1 ms.
      expect(Math.min(mu, mp)).toBeGreaterThan(10);
      expect(mu / mp).toBeGreaterThan(0.75);
      expect(mu / mp).toBeLessThan(1.33);
      // Throughput: 20 logins at once (two password checks run at a time, the rest queue).
      const t0 = performance.now();
      const burst = await Promise.all(Array.from({ length: 20 }, () => login(d.url, 'alice')));
      const wall = performance.now() - t0;
      expect(burst.map((r) => r.status)).toEqual(Array(20).fill(200));
      console.log(`20 concurrent logins: ${wall.toFixed(0)} ms wall, ${(wall / 20).toFixed(1)} ms a login`);
    } finally {
      await d.stop();
    }
  }, 120_000);
});
