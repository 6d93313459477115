import { userInfo } from 'node:os';

/** Who acts from the local CLI (a verdict's recorded_by): the operating system's user. */
export function osUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER || process.env.USERNAME || 'unknown';
  }
}
