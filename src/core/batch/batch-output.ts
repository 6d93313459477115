import type { Writable } from 'node:stream';
import { csvHeader, tableHeader, type BatchFormat } from './output-format.js';
import type { ChunkSettings } from './score-chunk.js';

/**
 * The run's output, written in order with backpressure: the header once, chunks' rows (JSON rows joined into one
 * array), the closing bracket.
 */
export class BatchOutput {
  private wroteJsonRow = false;

  constructor(
    private readonly out: Writable,
    private readonly format: BatchFormat,
    private readonly settings: ChunkSettings,
  ) {}

  async start(): Promise<void> {
    if (this.format === 'json') await this.write('[\n');
  }

  async header(names: string[]): Promise<void> {
    const text =
      this.format === 'csv'
        ? csvHeader(names, this.settings)
        : this.format === 'table'
          ? tableHeader(names, this.settings)
          : '';
    await this.write(text);
  }

  async rows(data: Uint8Array): Promise<void> {
    if (this.format === 'json' && data.length > 0) {
      if (this.wroteJsonRow) await this.write(',\n');
      this.wroteJsonRow = true;
    }
    await this.write(data);
  }

  async end(): Promise<void> {
    if (this.format === 'json') await this.write(this.wroteJsonRow ? '\n]\n' : ']\n');
  }

  private async write(data: string | Uint8Array): Promise<void> {
    if (data.length > 0 && !this.out.write(data)) await drained(this.out);
  }
}

/**
 * Waits for 'drain', failing on 'error' or 'close' (a reader that left, as `| head` does, never drains), and
 * removes every listener it added: events.once left one 'error' listener per pending write on stdout.
 */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(Object.assign(new Error('the output was closed'), { code: 'EPIPE' }));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', settle);
  });
}
