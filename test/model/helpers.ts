export * from '../../src/model/index.js';
export type { CompactTree as CompactTreeLike } from '../../src/model/forest-train.js';
