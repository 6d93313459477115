import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT_CLOSED_OUTPUT, EXIT_OK, exitCodeOf, SecureflowError } from '../core/errors.js';
import { EXIT_CODE_HELP } from './exit-codes.js';
import { systemIO, type IOStreams } from './io.js';
import { VERSION } from './version.js';

// Commands are imported when they run, so that start-up loads only commander and this file.

/** A number in min..max: any (step 0), a whole number (step 1), or a whole number of steps (0.5: halves). */
function number(name: string, min: number, max: number, step = 0) {
  const kind = step === 0 ? 'a number in' : step === 1 ? 'an integer in' : 'in';
  const steps = step === 0 || step === 1 ? '' : ` in steps of ${step}`;
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (step > 0 && !Number.isInteger(n / step)) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be ${kind} ${min}..${max}${steps}`);
    }
    return n;
  };
}

function rate(value: string): number {
  const percent = value.trim().endsWith('%');
  const n = Number(percent ? value.trim().slice(0, -1) : value);
  const r = percent ? n / 100 : n;
  if (value.trim() === '' || !Number.isFinite(r) || r < 0 || r > 1)
    throw new InvalidArgumentError('rate must be in 0..1 (or 0%..100%)');
  return r;
}

/** A share in (0, 1]: 0.02 or 2%. */
function share(value: string): number {
  const text = value.trim();
  const percent = text.endsWith('%');
  const n = Number(percent ? text.slice(0, -1) : text);
  const r = percent ? n / 100 : n;
  if (text === '' || (percent && text.length === 1) || !Number.isFinite(r) || r <= 0 || r > 1)
    throw new InvalidArgumentError('must be a share in (0, 1] or (0%, 100%], e.g. 2% or 0.02');
  return r;
}

const dbOption = () =>
  new Option(
    '--db <url|path>',
    'database: a postgres:// URL or a SQLite file (default: SECUREFLOW_DB, DATABASE_URL, then the user data directory)',
  );
const remoteOption = () =>
  new Option('--remote <url>', 'use a secureflow daemon instead of the local database (default: SECUREFLOW_REMOTE)');
const apiKeyOption = () =>
  new Option(
    '--api-key <key>',
    'API key for --remote (default: SECUREFLOW_API_KEY; prefer the variable: flags show in ps)',
  );
const modelOption = () =>
  new Option('--model <file>', 'model file (default: the bundled model)').env('SECUREFLOW_MODEL');
const thresholdOption = () =>
  new Option(
    '--threshold <score>',
    "flag scores at or above this anomaly score instead of the model's threshold",
  ).argParser(number('threshold', 0, 1));

export function buildProgram(io: IOStreams = systemIO()): Command {
  const program = new Command('secureflow')
    .description('Flag fraudulent payment transactions with a deterministic isolation forest, and explain every score.')
    .version(VERSION, '-V, --version')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODE_HELP);

  program
    .command('score')
    .summary('score one transaction, or CSV files of any size')
    .description(
      'Score one transaction given as flags, --json or JSON on stdin (an object, or an array of them),\n' +
        'or score CSV files (FILE... or - for stdin) row by row. Every input row gives one output row:\n' +
        'its scores, or an error naming its line and field.',
    )
    .argument('[files...]', 'CSV files to score; - reads CSV from stdin')
    .option('--amount <amount>', 'transaction amount')
    .option('--hour <hour>', 'hour of day, 0..23')
    .option('--day-of-week <day>', 'day of week, 0..6 (Monday = 0)')
    .option('--merchant-category <code>', 'merchant category code')
    .option('--transaction-type <code>', '0 purchase, 1 withdrawal, 2 transfer')
    .option('--timestamp <iso>', 'ISO-8601 time (legacy; gives hour and day of week)')
    .option('--merchant <name>', 'merchant name (legacy; hashed to a category)')
    .option('--category <name>', 'category name (legacy; hashed to a category)')
    .option('--type <name>', 'purchase, withdrawal or transfer (legacy)')
    .option('--id <reference>', 'your own reference for the transaction, echoed back')
    .option('--json <object>', 'the transaction as a JSON object')
    .addOption(
      new Option(
        '-f, --format <format>',
        'output: table|csv|json|ndjson for files (default: table on a terminal, csv when piped); text|json|ndjson for one transaction',
      ).choices(['table', 'csv', 'json', 'ndjson', 'text']),
    )
    .option('-o, --output <file>', 'write results to a file instead of stdout')
    .addOption(modelOption())
    .addOption(thresholdOption())
    .addOption(
      new Option(
        '--workers <n>',
        'worker threads for CSV input (default: the number of cores, one fewer when storing into SQLite)',
      ).argParser(number('workers', 1, 256, 1)),
    )
    .option(
      '--explain',
      'add exact Shapley values and the top factor to every CSV row (slower; one transaction is always explained)',
    )
    .option('--strict', 'stop at the first bad row (exit 3) instead of reporting it and going on')
    .option('--fail-on-anomaly', 'exit 10 if any transaction is flagged')
    .addOption(
      new Option(
        '--max-anomaly-rate <rate>',
        'exit 10 if the flagged share of scored rows exceeds this (0..1 or N%)',
      ).argParser(rate),
    )
    .addOption(
      new Option(
        '--fail-on-decision <decision>',
        "exit 10 if any transaction's decision (rules, else the model's flag) is block (or, with review, review or block)",
      ).choices(['block', 'review']),
    )
    .addOption(dbOption())
    .option('--no-store', 'do not store results in the database')
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .option('-q, --quiet', 'no summary on stderr; one line still says how many rows were rejected')
    .option('--summary-json <file>', "write the run's counts, model version and gate result to FILE as JSON (for CI)")
    .option(
      '--delimiter <char>',
      'CSV field delimiter: , ; | or tab (default: a comma, or ; or tab when the header shows it)',
    )
    .option(
      '--column <field=column>',
      'read a field from your column, e.g. amount=amt or merchant_category="Merchant Cat"; repeatable',
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option('--decimal <mark>', 'decimal mark of amounts: . (default) or , (for 1.250,00)')
    .option('--encoding <name>', 'input text encoding: utf-8 (default), latin1, windows-1252, utf-16le...')
    .option(
      '--derived <rule>',
      'rows with a date-only timestamp or an unknown type name: reject (default) or warn (score them, with a warning column)',
    )
    .action(async (files: string[], opts) => (await import('./commands/score.js')).runScore(files, opts, io));

  program
    .command('drift')
    .summary("compare traffic with the model's training distribution (PSI)")
    .description(
      "Compare the transactions in CSV files (FILE... or - for stdin) with the model's training distribution: " +
        'the population stability index (PSI) of each feature and of the anomaly score, from the quantiles and ' +
        'counts the model file keeps. Bands: < 0.1 stable, 0.1-0.25 watch, >= 0.25 drifted. Files are read as ' +
        'secureflow score reads them; nothing is stored, and no database is created.',
    )
    .argument('<files...>', 'CSV files of transactions; - reads CSV from stdin')
    .addOption(
      new Option(
        '--model <file>',
        "model file (default: the database's active model when a database is in reach, else the bundled model)",
      ).env('SECUREFLOW_MODEL'),
    )
    .addOption(dbOption())
    .addOption(
      new Option('-f, --format <format>', 'output (default: text on a terminal, json when piped)').choices([
        'text',
        'json',
      ]),
    )
    .option('--fail-on-drift', 'exit 10 if any feature or the score has drifted (PSI >= 0.25)')
    .option('-q, --quiet', 'no summary or notes on stderr')
    .option(
      '--delimiter <char>',
      'CSV field delimiter: , ; | or tab (default: a comma, or ; or tab when the header shows it)',
    )
    .option(
      '--column <field=column>',
      'read a field from your column, e.g. amount=amt; repeatable',
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option('--decimal <mark>', 'decimal mark of amounts: . (default) or , (for 1.250,00)')
    .option('--encoding <name>', 'input text encoding: utf-8 (default), latin1, windows-1252, utf-16le...')
    .option('--derived <rule>', 'rows with a date-only timestamp or an unknown type name: reject (default) or warn')
    .action(async (files: string[], opts) => (await import('./commands/drift.js')).runDrift(files, opts, io));

  program
    .command('train')
    .summary('train a model on your own CSV data, or on the stored transactions')
    .description(
      'Train an isolation forest on CSV files (labels, if present, are not used for training), or with --from-db ' +
        'on the transactions stored in the database (never created: it must exist), leaving out those an analyst ' +
        'confirmed as fraud: a transaction whose current verdict says it was flagged and right (feedback --correct ' +
        'on a flagged one) or passed and wrong (feedback --incorrect on a passed one). The model records the rows ' +
        'used: first and last id, count, rows left out, --since, and a SHA-256 over the ids and features.',
    )
    .argument('[files...]', 'training CSV files (- for stdin); none with --from-db')
    .requiredOption('--out <file>', 'where to write the model file')
    .addOption(new Option('--trees <n>', 'number of trees').default(100).argParser(number('trees', 1, 10000, 1)))
    .addOption(
      new Option('--sample-size <n>', 'rows drawn for each tree')
        .default(256)
        .argParser(number('sample size', 2, 65536, 1)),
    )
    .addOption(new Option('--seed <n>', 'random seed').default(42).argParser(number('seed', 0, 4294967295, 1)))
    .addOption(
      new Option('--contamination <rate>', 'expected share of anomalies, or "auto" (threshold 0.5)').default('0.1'),
    )
    .addOption(thresholdOption())
    .option('--label-column <column>', 'a label column to leave out of training')
    .option('--from-db', 'instead of files: the stored transactions, less those an analyst confirmed as fraud')
    .option('--since <when>', 'with --from-db: only those stored since then: 30d, 24h, 30m, 2w or an ISO date')
    .addOption(
      new Option(
        '--until-id <id>',
        'with --from-db: only ids up to this one (with an ISO --since: the same rows again)',
      ).argParser(number('until id', 1, Number.MAX_SAFE_INTEGER, 1)),
    )
    .addOption(
      new Option(
        '--amount-transform <t>',
        'how amount is fed to the forest ("auto": chosen from the training data; "conditional": log1p with conditional features)',
      )
        .choices(['none', 'log1p', 'auto', 'conditional'])
        .default('conditional'),
    )
    .addOption(
      new Option(
        '--day-start-hour <h>',
        'hour the forest\'s clock starts at, "auto" for the quietest training hour, or "none" for the raw hour',
      ).default('6'),
    )
    .addOption(
      new Option(
        '--conditional-features <c>',
        'also split on how odd amount, hour, type and day are for the merchant category ("auto": those that depend on it)',
      )
        .choices(['none', 'all', 'auto'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--conditional-weight <n>',
        'how many times as often a node splits on a conditional feature as on a field itself (steps of 0.5)',
      )
        .default(1.5)
        .argParser(number('conditional weight', 1, 64, 0.5)),
    )
    .option('--register', 'also store the model in the database (models list)')
    .option('--activate', 'with --register: make it the model secureflow score uses')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>', 'summary format').choices(['text', 'json']))
    .action(async (files: string[], opts) => (await import('./commands/train.js')).runTrain(files, opts, io));

  program
    .command('evaluate')
    .summary('measure a model on labelled CSV data')
    .description('Score a labelled CSV file and report ROC-AUC, PR-AUC, precision, recall and F1 at the threshold.')
    .argument('<file>', 'labelled CSV file (- for stdin)')
    .requiredOption('--label-column <column>', 'the column holding the label')
    .option(
      '--positive <value>',
      'the label value that marks an anomaly (default: -1 for -1/1, 1 for 0/1, true for true/false)',
    )
    .addOption(modelOption())
    .addOption(thresholdOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']))
    .action(async (file: string, opts) => (await import('./commands/evaluate.js')).runEvaluate(file, opts, io));

  program
    .command('calibrate')
    .summary("set a model's threshold to flag a reviewable share of your traffic")
    .description(
      'Score CSV files of your traffic with a model and write the same model (same trees, a new version) whose ' +
        'threshold flags at most --alert-rate of those rows, or reaches --target-precision against a label column ' +
        "or the analysts' verdicts (--from-feedback): the lowest such threshold, so the most recall. Prints the " +
        'flagged share, precision and recall before and after, with 95% Wilson intervals. The new model file ' +
        'records how it was calibrated and on what.',
    )
    .argument('[files...]', 'CSV files of the traffic to calibrate on (- for stdin)')
    .requiredOption('--out <file>', 'where to write the calibrated model file')
    .addOption(modelOption())
    .addOption(new Option('--alert-rate <rate>', 'share of the traffic to flag, e.g. 2% or 0.02').argParser(share))
    .addOption(
      new Option(
        '--target-precision <p>',
        'lowest threshold whose precision reaches this (e.g. 80% or 0.8); needs --label-column or --from-feedback',
      ).argParser(share),
    )
    .option('--label-column <column>', 'the column holding the label (precision and recall are reported with it)')
    .option(
      '--positive <value>',
      'the label value that marks an anomaly (default: -1 for -1/1, 1 for 0/1, true for true/false)',
    )
    .option(
      '--from-feedback',
      "with --target-precision, instead of files: the stored transactions with analysts' verdicts (fraud = flagged and right, or passed and wrong)",
    )
    .option('--register', 'also store the model in the database (models list)')
    .option('--activate', 'with --register: make it the model secureflow score uses')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>', 'summary format').choices(['text', 'json']))
    .action(async (files: string[], opts) => (await import('./commands/calibrate.js')).runCalibrate(files, opts, io));

  program
    .command('feedback')
    .summary('record whether a flagged (or passed) transaction was right')
    .description(
      "Record whether the verdict on a stored transaction was right (--correct) or wrong (--incorrect),\nwith optional notes; the dashboard's accuracy comes from these.",
    )
    .argument('<id>', 'transaction id (as printed by score)')
    .option('--correct', 'the verdict was right')
    .option('--incorrect', 'the verdict was wrong')
    .option('--notes <text>', 'why')
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']))
    .action(async (id: string, opts) => (await import('./commands/feedback.js')).runFeedback(id, opts, io));

  const transactions = program.command('transactions').summary('look back at what was scored');
  transactions
    .command('list')
    .description('List stored transactions, newest first.')
    .option('--anomalies', 'only flagged transactions')
    .option('--since <when>', 'only since then: 7d, 24h, 30m or an ISO date')
    .option('--batch <id>', 'only one run of secureflow score (its batch id)')
    .addOption(new Option('--limit <n>', 'at most this many').default(20).argParser(number('limit', 1, 100000, 1)))
    .addOption(
      new Option('--offset <n>', 'skip this many')
        .default(0)
        .argParser(number('offset', 0, Number.MAX_SAFE_INTEGER, 1)),
    )
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(
      new Option('-f, --format <format>', 'output format (default: table on a terminal, json when piped)').choices([
        'table',
        'json',
        'csv',
      ]),
    )
    .action(async (opts) => (await import('./commands/transactions.js')).runTransactionsList(opts, io));
  transactions
    .command('show')
    .description('Show one transaction: features, scores, explanation and feedback.')
    .argument('<id>', 'transaction id')
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']))
    .action(async (id: string, opts) => (await import('./commands/transactions.js')).runTransactionsShow(id, opts, io));

  const models = program.command('models').summary('registered models: list, show, activate, deactivate');
  models
    .command('list')
    .description('List registered models, the active one starred (the bundled model when none is).')
    .addOption(dbOption())
    .addOption(
      new Option('-f, --format <format>', 'output format (default: table on a terminal, json when piped)').choices([
        'table',
        'json',
      ]),
    )
    .action(async (opts) => (await import('./commands/models.js')).runModelsList(opts, io));
  models
    .command('show')
    .description('Show a registered model (or the bundled one) and its training metrics; --export writes its file.')
    .argument('<version>', 'model version (hash) or id')
    .option('--export <file>', 'write the model file')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>').choices(['table', 'json']))
    .action(async (version: string, opts) => (await import('./commands/models.js')).runModelsShow(version, opts, io));
  models
    .command('activate')
    .description('Make a registered model the one secureflow score uses.')
    .argument('<version>', 'model version (hash) or id')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>').choices(['table', 'json']))
    .action(async (version: string, opts) =>
      (await import('./commands/models.js')).runModelsActivate(version, opts, io),
    );

  models
    .command('deactivate')
    .description('Stop using the active registered model: secureflow score goes back to the bundled model.')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>').choices(['table', 'json']))
    .action(async (opts) => (await import('./commands/models.js')).runModelsDeactivate(opts, io));

  const keys = program.command('keys').summary('API keys for the daemon: create, list, revoke');
  keys
    .command('create')
    .description(
      'Create an API key; it is printed once (only a salted hash is stored).\nRoles: admin; analyst (score, feedback, read); scorer (score only); viewer (read only).',
    )
    .requiredOption('--name <name>', 'who or what uses it')
    .requiredOption('--role <role>', 'admin, analyst, scorer or viewer')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>', 'json prints {id, name, role, key}').choices(['text', 'json']))
    .action(async (opts) => (await import('./commands/keys.js')).runKeysCreate(opts, io));
  keys
    .command('list')
    .description('List API keys (never their secrets): name, role, when created, last used and revoked.')
    .addOption(dbOption())
    .addOption(
      new Option('-f, --format <format>', 'output format (default: table on a terminal, json when piped)').choices([
        'table',
        'json',
      ]),
    )
    .action(async (opts) => (await import('./commands/keys.js')).runKeysList(opts, io));
  keys
    .command('revoke')
    .description('Revoke an API key: daemons refuse it within seconds. Revoked keys stay listed.')
    .argument('<id>', 'key id')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>').choices(['text', 'json']))
    .action(async (id: string, opts) => (await import('./commands/keys.js')).runKeysRevoke(id, opts, io));

  const users = program.command('users').summary('people who log in to the daemon: add, list, disable, passwd');
  const usersFormat = () => new Option('-f, --format <format>').choices(['text', 'json']);
  const passwordStdin = '--password-stdin';
  users
    .command('add')
    .description(
      `Add a user who logs in (POST /api/auth/login, secureflow login) for a token with a role. The password (${12}+ characters) is typed twice at a terminal, or read from standard input with --password-stdin; only its scrypt hash is stored.\nRoles: admin; analyst (score, feedback, read); scorer (score only); viewer (read only).`,
    )
    .argument('<name>', 'username: letters, digits, . _ @ - (case does not matter)')
    .requiredOption('--role <role>', 'admin, analyst, scorer or viewer')
    .option(passwordStdin, 'read the password from standard input')
    .addOption(dbOption())
    .addOption(usersFormat())
    .action(async (name: string, opts) => (await import('./commands/users.js')).runUsersAdd(name, opts, io));
  users
    .command('list')
    .description('List users (never their passwords): role, when created, changed and disabled.')
    .addOption(dbOption())
    .addOption(
      new Option('-f, --format <format>', 'output format (default: table on a terminal, json when piped)').choices([
        'table',
        'json',
      ]),
    )
    .action(async (opts) => (await import('./commands/users.js')).runUsersList(opts, io));
  users
    .command('disable')
    .description('Disable a user: logins fail and every token they hold stops working within seconds.')
    .argument('<name>', 'username')
    .addOption(dbOption())
    .addOption(usersFormat())
    .action(async (name: string, opts) => (await import('./commands/users.js')).runUsersDisable(name, opts, io));
  users
    .command('passwd')
    .description("Set a user's password; the tokens they were given before stop working.")
    .argument('<name>', 'username')
    .option(passwordStdin, 'read the password from standard input')
    .addOption(dbOption())
    .addOption(usersFormat())
    .action(async (name: string, opts) => (await import('./commands/users.js')).runUsersPasswd(name, opts, io));

  program
    .command('login')
    .summary('log in to a daemon as a user; remote commands and the dashboard then use the token')
    .description(
      'Log in to a daemon (POST /api/auth/login) and keep the token in the config folder ($XDG_CONFIG_HOME/secureflow/logins.json, else ~/.config/secureflow/logins.json; mode 0600). --remote commands and the dashboard use it for that URL when no API key is given. The password is typed without echo, or read from standard input with --password-stdin.',
    )
    .option('--remote <url>', 'the daemon (default: SECUREFLOW_REMOTE)')
    .requiredOption('--username <name>', 'your username')
    .option('--password-stdin', 'read the password from standard input')
    .addOption(new Option('-f, --format <format>').choices(['text', 'json']))
    .action(async (opts) => (await import('./commands/login.js')).runLogin(opts, io));
  program
    .command('logout')
    .summary("forget a daemon's login token")
    .description(
      'Forget the token kept for a daemon (the token stays valid on the daemon until it expires; `secureflow users passwd` or `users disable` revoke it there).',
    )
    .option('--remote <url>', 'the daemon (default: SECUREFLOW_REMOTE)')
    .option('--all', 'forget every kept login')
    .action(async (opts) => (await import('./commands/login.js')).runLogout(opts, io));

  const rules = program
    .command('rules')
    .summary('risk rules (CEL expressions): add, change, list, show, enable, disable, remove, test')
    .description(
      'Risk rules: a CEL expression over a scored transaction and what to do when it matches (allow, review, block).\n\n' +
        'Variables: amount, hour, day_of_week, merchant_category, transaction_type (numbers: amount > 3000 && hour < 5 ' +
        'works), merchant, category, type, reference (strings, "" when absent), anomaly_score, risk_score (numbers), ' +
        'risk_level ("normal", "elevated", "highest") and is_anomaly (true when the model flags it).\n\n' +
        'Every change is kept in the history with who made it (the OS user; with --remote, key:NAME) and when: ' +
        'rules show NAME. With --remote URL every command works through a daemon (rules test: on its stored ' +
        'transactions, with --since). ' +
        'The enabled rules apply to every score made with the database (score, serve): a matching allow rule wins, ' +
        'then block, then review; with none, review what the model flags. rules test backtests one first.',
    );
  const rulesFormat = () =>
    new Option('-f, --format <format>', 'output format (default: table on a terminal, json when piped)').choices([
      'table',
      'json',
    ]);
  rules
    .command('add')
    .summary('add a rule, enabled; a bad expression is refused with its position')
    .description(
      'Add a rule, enabled. An expression that does not parse, names an unknown variable or function, or is not ' +
        'true/false is refused (exit 3) with its line, column and reason; nothing is stored.',
    )
    .argument('<name>', '1 to 64 letters, digits, _, - or .')
    .requiredOption('--when <expr>', 'the CEL expression, e.g. "amount > 3000 && hour < 5"')
    .addOption(
      new Option('--action <action>', 'what a match does').choices(['allow', 'review', 'block']).makeOptionMandatory(),
    )
    .option('--description <text>', 'why the rule exists')
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(new Option('-f, --format <format>').choices(['text', 'json']))
    .action(async (name: string, opts) => (await import('./commands/rules.js')).runRulesAdd(name, opts, io));
  rules
    .command('change')
    .summary("change a rule's expression, action or description (kept in its history)")
    .description(
      "Change a rule's expression (--when), action and/or description (--description '' clears it); recorded in its " +
        'history as one change. A bad expression is refused as for add (exit 3), and nothing changes.',
    )
    .argument('<name>', 'rule name')
    .option('--when <expr>', 'the new CEL expression')
    .addOption(new Option('--action <action>', 'what a match does').choices(['allow', 'review', 'block']))
    .option('--description <text>', "why the rule exists ('' clears it)")
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(new Option('-f, --format <format>').choices(['text', 'json']))
    .action(async (name: string, opts) => (await import('./commands/rules.js')).runRulesChange(name, opts, io));
  rules
    .command('list')
    .description('List rules by name: action, enabled, expression, description.')
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(rulesFormat())
    .action(async (opts) => (await import('./commands/rules.js')).runRulesList(opts, io));
  rules
    .command('show')
    .summary('show a rule and its history')
    .description("Show a rule and its history (every change, who made it and when; a removed rule's too).")
    .argument('<name>', 'rule name')
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(new Option('-f, --format <format>').choices(['text', 'json']))
    .action(async (name: string, opts) => (await import('./commands/rules.js')).runRulesShow(name, opts, io));
  for (const [command, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    rules
      .command(command)
      .description(`${enabled ? 'Enable' : 'Disable'} a rule (recorded in its history).`)
      .argument('<name>', 'rule name')
      .addOption(dbOption())
      .addOption(remoteOption())
      .addOption(apiKeyOption())
      .addOption(new Option('-f, --format <format>').choices(['text', 'json']))
      .action(async (name: string, opts) =>
        (await import('./commands/rules.js')).runRulesSetEnabled(name, enabled, opts, io),
      );
  }
  rules
    .command('remove')
    .description('Remove a rule; its history stays (rules show NAME).')
    .argument('<name>', 'rule name')
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(new Option('-f, --format <format>').choices(['text', 'json']))
    .action(async (name: string, opts) => (await import('./commands/rules.js')).runRulesRemove(name, opts, io));
  rules
    .command('test')
    .summary('backtest a rule on CSV files or on stored transactions')
    .description(
      'Backtest a stored rule (NAME) or an expression (--when EXPR; then every argument is a file). ' +
        'On CSV files: scores them with the model secureflow score would use and counts the rows the rule matches ' +
        '(matched, of the rows it was tested on, and the share). With --since (no files): tests the transactions ' +
        'stored since then, as they were scored, and also counts, among matched rows an analyst gave a verdict on ' +
        '(secureflow feedback), the confirmed fraud: flagged by the model and marked correct, or passed and marked ' +
        'incorrect. Rows that cannot be read, or that the rule fails on, are counted and listed, never fatal.',
    )
    .argument('[rule-or-files...]', 'a rule name, then CSV files (- for stdin)')
    .option('--when <expr>', 'test this expression instead of a stored rule')
    .option('--since <when>', 'test stored transactions since then: 30d, 24h, 30m or an ISO date')
    .addOption(modelOption())
    .addOption(thresholdOption())
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(rulesFormat())
    .action(async (args: string[], opts) => (await import('./commands/rules.js')).runRulesTest(args, opts, io));

  program
    .command('dashboard')
    .summary('live terminal dashboard of the local database or a daemon')
    .description(
      'A live dashboard: totals, hourly distribution, risk levels, throughput and recent flagged transactions. ' +
        'Arrows and enter open a transaction, c / i record feedback, ? shows the keys, q quits. ' +
        '--once prints one snapshot (text, or --format json) and exits: for scripts and pipes.',
    )
    .addOption(dbOption())
    .addOption(remoteOption())
    .addOption(apiKeyOption())
    .addOption(new Option('--days <n>', 'window: the last N days').default(7).argParser(number('days', 1, 3650, 1)))
    .addOption(new Option('--refresh <interval>', 'refresh interval, e.g. 2s, 500ms, 1m').default('2s'))
    .option('--once', 'print one snapshot and exit')
    .addOption(new Option('-f, --format <format>', 'with --once: text or json').choices(['text', 'json']))
    .action(async (opts) => (await import('./commands/dashboard.js')).runDashboard(opts, io));

  program
    .command('serve')
    .summary('run the HTTP daemon (the API of the system it replaces)')
    .description(
      'Serve the scoring API over HTTP. Flags > environment (PORT, HOST, DATABASE_URL, REDIS_URL, CORS_ORIGINS, ' +
        'LOG_LEVEL, SECUREFLOW_RATE_LIMIT, JWT_SECRET) > defaults. On an address other than loopback, API keys ' +
        'or users are required (secureflow keys create, secureflow users add) unless --no-auth is given; once ' +
        'users exist, JWT_SECRET (32+ characters) signs their login tokens (on loopback one is generated).',
    )
    .option('--host <host>', 'address to listen on (default: HOST, else 127.0.0.1)')
    .addOption(new Option('--port <port>', 'port (default: PORT, else 5001)').argParser(number('port', 0, 65535, 1)))
    .addOption(dbOption())
    .addOption(modelOption())
    .addOption(thresholdOption())
    .addOption(
      new Option('--body-limit <bytes>', 'largest request body (default 10 MiB)').argParser(
        number('body limit', 1024, 1024 ** 3, 1),
      ),
    )
    .addOption(
      new Option('--batch-limit <n>', 'most transactions per predict-batch request (default 10000)').argParser(
        number('batch limit', 1, 1_000_000, 1),
      ),
    )
    .addOption(
      new Option(
        '--rate-limit <n>',
        'requests per second per key (per IP without keys); 0 = off (default: SECUREFLOW_RATE_LIMIT, else off)',
      ).argParser(number('rate limit', 0, 1_000_000, 1)),
    )
    .option('--redis-url <url>', 'share rate-limit counters between instances (default: REDIS_URL)')
    .option(
      '--cors-origin <origin>',
      'browser origin allowed to call the API; repeatable; * for any (default: CORS_ORIGINS, else http://localhost:3000)',
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option('--no-auth', 'serve without API keys, even on a public address')
    .addOption(
      new Option(
        '--request-timeout <ms>',
        'a request (headers and body) must arrive within this, else 408 (default: SECUREFLOW_REQUEST_TIMEOUT_MS, else 30000)',
      ).argParser(number('request timeout', 100, 3_600_000, 1)),
    )
    .addOption(
      new Option(
        '--headers-timeout <ms>',
        'request headers must arrive within this (default: SECUREFLOW_HEADERS_TIMEOUT_MS, else 10000)',
      ).argParser(number('headers timeout', 100, 3_600_000, 1)),
    )
    .addOption(
      new Option(
        '--max-event-loop-delay <ms>',
        'answer 503 + Retry-After while the event loop lags more than this; 0 = off (default: SECUREFLOW_MAX_EVENT_LOOP_DELAY_MS, else 1000)',
      ).argParser(number('max event loop delay', 0, 600_000, 1)),
    )
    .addOption(
      new Option(
        '--drift-days <n>',
        'the window of stored traffic whose drift /metrics reports, in days (default: SECUREFLOW_DRIFT_DAYS, else 7)',
      ).argParser(number('drift days', 1, 3650, 1)),
    )
    .option(
      '--trust-proxy <hops|addresses>',
      "take the caller's address from X-Forwarded-For set by these proxies: a hop count (1 behind Fly's proxy) or addresses/CIDRs (default: SECUREFLOW_TRUST_PROXY, else none)",
    )
    .option(
      '--token-lifetime <duration>',
      'how long a login token lasts: 90s, 30m, 12h, 7d (default: SECUREFLOW_TOKEN_LIFETIME, else 12h)',
    )
    .addOption(
      new Option(
        '--login-limit <n>',
        'login attempts a minute per username (default: SECUREFLOW_LOGIN_LIMIT, else 10)',
      ).argParser(number('login limit', 1, 1_000_000, 1)),
    )
    .addOption(
      new Option(
        '--login-ip-limit <n>',
        'login attempts a minute per client address (default: SECUREFLOW_LOGIN_IP_LIMIT, else 30)',
      ).argParser(number('login ip limit', 1, 1_000_000, 1)),
    )
    .addOption(
      new Option('--log-level <level>', 'log level (default: LOG_LEVEL, else info)').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    )
    .action(async (opts) => (await import('./commands/serve.js')).runServe(opts));

  program
    .command('migrate')
    .summary('apply pending database migrations (the deploy release step)')
    .description(
      'Apply pending database migrations and print each one applied (every command also applies them\nwhen it opens the database; a deploy runs this as its release step).',
    )
    .addOption(dbOption())
    .action(async (opts) => (await import('./commands/migrate.js')).runMigrate(opts, io));

  return program;
}

export async function main(argv: string[], io: IOStreams = systemIO()): Promise<number> {
  const program = buildProgram(io);
  program.exitOverride();
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return EXIT_OK;
      return exitCodeOf('usage');
    }
    // The one boundary: every error the user or the environment causes is a SecureflowError (the store's
    // included), its exit code from ERROR_KINDS.
    if (e instanceof SecureflowError) {
      io.stderr.write(`secureflow: ${e.message}\n`);
      return exitCodeOf(e.kind);
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EPIPE') return EXIT_CLOSED_OUTPUT;
    io.stderr.write(`secureflow: internal error: ${err.message}\n`);
    if (process.env.SECUREFLOW_DEBUG) io.stderr.write(`${err.stack}\n`);
    else io.stderr.write('(set SECUREFLOW_DEBUG=1 for details, and please report it)\n');
    return exitCodeOf('internal');
  }
}
