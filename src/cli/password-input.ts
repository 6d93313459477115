import { SecureflowError } from '../core/errors.js';
import type { IOStreams } from './io.js';

/**
 * A password from standard input (`--password-stdin`: everything up to the end, one trailing newline dropped, as
 * `docker login --password-stdin` reads it), or typed at a terminal without echo. Never printed, never logged.
 */
export async function readPassword(io: IOStreams, opts: { stdin?: boolean; prompt: string }): Promise<string> {
  if (opts.stdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    const text = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (text === '') throw new SecureflowError('usage', '--password-stdin: standard input was empty');
    return text;
  }
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function')
    throw new SecureflowError(
      'usage',
      'no terminal to type the password in: pipe it with --password-stdin (e.g. printf %s "$PASSWORD" | secureflow ... --password-stdin)',
    );
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const done = (error?: SecureflowError) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new SecureflowError('interrupted', 'interrupted'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    // Echo off before the prompt shows: whatever is typed from then on never appears.
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
    io.stderr.write(opts.prompt);
  });
}
