import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SecureflowError } from '../core/errors.js';
import { EXIT_CODE_HELP, EXIT_CODES } from './exit-codes.js';
import { VERSION } from './version.js';

// Commands are imported when they run, so that start-up loads only commander and this file.

function number(name: string, min: number, max: number, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
    }
    return n;
  };
}

function rate(value: string): number {
  const percent = value.trim().endsWith('%');
  const n = Number(percent ? value.trim().slice(0, -1) : value);
  const r = percent ? n / 100 : n;
  if (value.trim() === '' || !Number.isFinite(r) || r < 0 || r > 1) throw new InvalidArgumentError('rate must be in 0..1 (or 0%..100%)');
  return r;
}

const modelOption = () => new Option('--model <file>', 'model file (default: the bundled model)').env('SECUREFLOW_MODEL');
const thresholdOption = () =>
  new Option('--threshold <score>', 'flag scores at or above this anomaly score instead of the model\'s threshold').argParser(number('threshold', 0, 1));

export function buildProgram(): Command {
  const program = new Command('secureflow')
    .description('Flag fraudulent payment transactions with a deterministic isolation forest, and explain every score.')
    .version(VERSION, '-V, --version')
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
      new Option('-f, --format <format>', 'output: table|csv|json|ndjson for files (default: table on a terminal, csv when piped); text|json|ndjson for one transaction')
        .choices(['table', 'csv', 'json', 'ndjson', 'text']),
    )
    .option('-o, --output <file>', 'write results to a file instead of stdout')
    .addOption(modelOption())
    .addOption(thresholdOption())
    .addOption(new Option('--workers <n>', 'worker threads for CSV input (default: the number of cores)').argParser(number('workers', 1, 256, true)))
    .option('--explain', 'add exact Shapley values and the top factor to every CSV row (slower; one transaction is always explained)')
    .option('--strict', 'stop at the first bad row (exit 3) instead of reporting it and going on')
    .option('--fail-on-anomaly', 'exit 10 if any transaction is flagged')
    .addOption(new Option('--max-anomaly-rate <rate>', 'exit 10 if the flagged share of scored rows exceeds this (0..1 or N%)').argParser(rate))
    .option('--no-store', 'do not store results (storage arrives with the database; today nothing is stored)')
    .option('-q, --quiet', 'no summary on stderr')
    .action(async (files: string[], opts) => (await import('./commands/score.js')).runScore(files, opts));

  program
    .command('train')
    .summary('train a model on your own CSV data')
    .description('Train an isolation forest on CSV files (labels, if present, are not used for training).')
    .argument('<files...>', 'training CSV files (- for stdin)')
    .requiredOption('--out <file>', 'where to write the model file')
    .addOption(new Option('--trees <n>', 'number of trees').default(100).argParser(number('trees', 1, 10000, true)))
    .addOption(new Option('--sample-size <n>', 'rows drawn for each tree').default(256).argParser(number('sample size', 2, 65536, true)))
    .addOption(new Option('--seed <n>', 'random seed').default(42).argParser(number('seed', 0, 4294967295, true)))
    .addOption(new Option('--contamination <rate>', 'expected share of anomalies, or "auto" (threshold 0.5)').default('0.1'))
    .addOption(thresholdOption())
    .option('--label-column <column>', 'a label column to leave out of training')
    .addOption(new Option('--amount-transform <t>', 'how amount is fed to the forest').choices(['none', 'log1p']).default('none'))
    .addOption(new Option('--day-start-hour <h>', 'hour the forest\'s clock starts at, or "none" for the raw hour').default('6'))
    .addOption(new Option('-f, --format <format>', 'summary format').choices(['text', 'json']))
    .action(async (files: string[], opts) => (await import('./commands/train.js')).runTrain(files, opts));

  program
    .command('evaluate')
    .summary('measure a model on labelled CSV data')
    .description('Score a labelled CSV file and report ROC-AUC, PR-AUC, precision, recall and F1 at the threshold.')
    .argument('<file>', 'labelled CSV file (- for stdin)')
    .requiredOption('--label-column <column>', 'the column holding the label')
    .option('--positive <value>', 'the label value that marks an anomaly (default: -1 for -1/1, 1 for 0/1, true for true/false)')
    .addOption(modelOption())
    .addOption(thresholdOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']))
    .action(async (file: string, opts) => (await import('./commands/evaluate.js')).runEvaluate(file, opts));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.commands.forEach((c) => c.exitOverride());
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_CODES.usage;
    }
    if (e instanceof SecureflowError) {
      process.stderr.write(`secureflow: ${e.message}\n`);
      return EXIT_CODES[e.kind];
    }
    const err = e as Error;
    process.stderr.write(`secureflow: internal error: ${err.message}\n`);
    if (process.env.SECUREFLOW_DEBUG) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write('(set SECUREFLOW_DEBUG=1 for details, and please report it)\n');
    return EXIT_CODES.internal;
  }
}
