#!/usr/bin/env node
'use strict';
/**
 * The image's entry point (ENTRYPOINT ["node", "/opt/program/container.js"]). SageMaker starts a
 * bring-your-own container with a command as its first argument:
 *
 *   train              training job (SM_* environment, /opt/ml/input, /opt/ml/model): the tuning
 *                      job's trials and the per-segment trainings alike (hyperparameter `sex`)
 *   serve              batch transform or endpoint (/ping, /invocations on port 8080)
 *   split [options]    processing job, from the job's ContainerArguments
 *   evaluate [options] processing job, from the job's ContainerArguments
 */
const { runStep } = require('./contract');

const COMMANDS = {
  train: () => require('./train'),
  serve: () => require('./serve'),
  split: () => require('./split'),
  evaluate: () => require('./evaluate'),
};

const [command, ...args] = process.argv.slice(2);

if (!command || !Object.hasOwn(COMMANDS, command)) {
  process.stderr.write(`usage: container.js <${Object.keys(COMMANDS).join('|')}> [options] (got "${command ?? ''}")\n`);
  process.exitCode = 2;
} else {
  // SageMaker reads a failed training job's FailureReason from /opt/ml/output/failure.
  const failureFile = command === 'train' ? require('./train').trainingPaths(process.env).failure : undefined;
  runStep(command, () => COMMANDS[command]().main(args), failureFile);
}
