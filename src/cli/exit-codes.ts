import type { ErrorKind } from '../core/errors.js';

/** The one table from error kinds to exit codes. Shown in `secureflow --help` and the README. */
export const EXIT_CODES: Record<ErrorKind | 'ok' | 'closed_output', number> = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalid_input: 3,
  not_found: 4,
  model: 5,
  unavailable: 6,
  auth: 7,
  anomaly: 10,
  interrupted: 130,
  // The reader of stdout left early (`| head`): the usual end of a Unix pipeline, 128 + SIGPIPE, said quietly.
  closed_output: 141,
};

export const EXIT_CODE_HELP = `
Exit codes:
  0    success
  1    internal error (a bug: please report it)
  2    usage error: unknown command or flag, bad flag value
  3    invalid input: a transaction, CSV row or file that cannot be read (the message names the line and field)
  4    not found: an input or model file, a transaction, model version or key
  5    model file is not a valid secureflow model
  6    database or daemon unavailable (cannot open or reach it; the message names it, password masked);
       for the single executable, no folder to unpack its files to
  7    not authorised by the daemon: missing, wrong or revoked API key, or a role that may not do this
  10   anomalies found, with --fail-on-anomaly or over --max-anomaly-rate; drift found, with --fail-on-drift
  130  interrupted (Ctrl-C)
  141  the program reading the output closed it early (as with | head); no message`;
