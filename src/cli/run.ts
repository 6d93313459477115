import { main } from './main.js';

// Entry point for bin/secureflow: exit with the code the command chose, once output has drained.
main(process.argv).then((code) => {
  process.exitCode = code;
});
