/** pipemon/sdk: what a pipeline imports. The run/stage API lands with issue 3; the vocabulary is shared now. */
export * from './vocabulary.js';
