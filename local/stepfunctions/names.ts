import { createHash } from 'node:crypto';

/** Names and ARNs as Step Functions checks them, and the store keys the service files them under. */

// State machine and execution names: 1-80 characters, none of whitespace, brackets, wildcards, "#%\^|~`$&,;:/ or control characters.
const NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:\s]{1,80}$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:\s]{1,80}:[^:]{1,80}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** Whether `name` is a valid state machine or execution name. */
export function isValidName(name: string): boolean {
  const control = [...name].some((character) => {
    const code = character.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f);
  });
  return !control && NAME.test(name);
}

export function isStateMachineArn(arn: string): boolean {
  return STATE_MACHINE_ARN.test(arn);
}

export function isExecutionArn(arn: string): boolean {
  return EXECUTION_ARN.test(arn);
}

export function isRoleArn(arn: string): boolean {
  return ROLE_ARN.test(arn);
}

/** `arn:aws:states:<region>:<account>:stateMachine:<name>`, as CloudFormation and CreateStateMachine give it. */
export function stateMachineArn(region: string, accountId: string, name: string): string {
  return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
}

/** A JsonStore key for an ARN (ARNs hold characters store keys may not). */
export function storeKey(arn: string): string {
  return createHash('sha256').update(arn).digest('hex').slice(0, 40);
}
