import { EXIT_CLOSED_OUTPUT } from '../core/errors.js';
import { main } from './main.js';

// A reader that leaves early (`| head`) makes writes to stdout fail, some of them outside any command's try.
// That is how Unix pipelines end: the command finishes what it holds (storage included) and exits 141 quietly.
let outputClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  outputClosed = true;
});

// Entry point for bin/secureflow: exit with the code the command chose, once output has drained.
main(process.argv).then((code) => {
  process.exitCode = outputClosed ? EXIT_CLOSED_OUTPUT : code;
});
