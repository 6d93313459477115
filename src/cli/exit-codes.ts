// The exit codes are ERROR_KINDS in src/core/errors.ts (test/core/errors.test.ts checks this text lists each).

export const EXIT_CODE_HELP = `
Exit codes:
  0    success
  1    internal error (a bug: please report it)
  2    usage error: unknown command or flag, bad flag value
  3    invalid input: a transaction, CSV row or file that cannot be read (the message names the line and field),
       or a name already taken
  4    not found: an input or model file, a transaction, model version or key
  5    model file is not a valid secureflow model
  6    database or daemon unavailable (cannot open or reach it; the message names it, password masked);
       for the single executable, no folder to unpack its files to
  7    not authorised by the daemon: missing, wrong or revoked API key, or a role that may not do this
  10   anomalies found, with --fail-on-anomaly or over --max-anomaly-rate; drift found, with --fail-on-drift
  130  interrupted (Ctrl-C)
  141  the program reading the output closed it early (as with | head); no message`;
