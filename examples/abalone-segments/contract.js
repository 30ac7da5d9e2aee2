'use strict';
/**
 * SageMaker's container contract, the parts the steps share: command-line options for processing
 * jobs, CSV files in a channel or input folder, and how a failed job reports itself.
 */
const fs = require('node:fs');
const path = require('node:path');

/** Bad command line or environment: the job's definition is wrong, not the data. */
class UsageError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/**
 * Reads `--name value` options. `defaults` lists every accepted option with its default value;
 * anything else is a UsageError, so a typo in ContainerArguments fails the job instead of being ignored.
 */
function parseOptions(argv, defaults) {
  const options = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const name = flag.startsWith('--') ? flag.slice(2) : undefined;
    if (name === undefined || !Object.hasOwn(defaults, name)) {
      throw new UsageError(`unknown argument "${flag}" (accepted: ${Object.keys(defaults).map((key) => `--${key}`).join(', ')})`);
    }
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    options[name] = argv[i + 1];
  }
  return options;
}

/** The CSV files of a folder (a channel or a processing input), sorted. Throws UsageError if there are none. */
function csvFiles(dir, what) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    throw new UsageError(`${what}: cannot read ${dir} (${error.code ?? error.message})`, { cause: error });
  }
  const files = names.filter((name) => name.endsWith('.csv') && !name.startsWith('.')).sort().map((name) => path.join(dir, name));
  if (files.length === 0) throw new UsageError(`${what}: no .csv file in ${dir}`);
  return files;
}

/** Every non-empty line of the folder's CSV files, split into fields, with its file and line number for messages. */
function readCsvRows(dir, what) {
  return csvFiles(dir, what).flatMap((file) =>
    fs
      .readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((line, index) => ({ file, line: index + 1, text: line }))
      .filter((row) => row.text.trim() !== '')
      .map(({ file: rowFile, line, text }) => ({ file: rowFile, line, fields: text.split(',').map((field) => field.trim()) })),
  );
}

/** Reads a numeric CSV in the XGBoost layout (label first, no header) into labels and feature rows. */
function readLabelledMatrix(dir, what, featureCount) {
  const labels = [];
  const features = [];
  for (const { file, line, fields } of readCsvRows(dir, what)) {
    const values = fields.map(Number);
    if (values.length !== featureCount + 1 || fields.some((field) => field === '') || values.some((value) => !Number.isFinite(value))) {
      throw new UsageError(`${what}: ${path.basename(file)} line ${line}: expected ${featureCount + 1} numbers (label first), got "${fields.join(',')}"`);
    }
    labels.push(values[0]);
    features.push(values.slice(1));
  }
  return { labels, features };
}

/** Writes rows of numbers as a headerless CSV, creating the folder. */
function writeCsv(file, rows) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, rows.map((row) => row.join(',')).join('\n') + '\n');
}

/**
 * Runs a step: on failure, writes the message to stderr (and to `failureFile`, where SageMaker reads
 * a training job's FailureReason) and sets a non-zero exit code.
 */
async function runStep(step, main, failureFile) {
  try {
    await main();
  } catch (error) {
    const message = `${step} failed: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`${message}\n`);
    if (failureFile) {
      try {
        fs.mkdirSync(path.dirname(failureFile), { recursive: true });
        fs.writeFileSync(failureFile, `${message}\n`);
      } catch {
        // Best effort: the message is already on stderr.
      }
    }
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

module.exports = { UsageError, parseOptions, readCsvRows, readLabelledMatrix, runStep, writeCsv };
