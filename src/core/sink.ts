/**
 * Where scored rows go besides the output: the storage seam. Today only the null sink exists, and
 * `score` behaves as `--no-store`; issue 3 adds a database sink that commits whole chunks.
 */
export interface ResultSink {
  close(): Promise<void>;
}

export function nullSink(): ResultSink {
  return { close: async () => {} };
}
