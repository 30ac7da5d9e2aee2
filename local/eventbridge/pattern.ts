/**
 * EventBridge event pattern matching for the local runtime's EventBridge emulator.
 *
 * Semantics come from AWS's documentation:
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
 * Where those pages are silent, behaviour and error reasons follow aws/event-ruler (README,
 * JsonRuleCompiler, WildcardParser, CIDR, ComparableNumber), the open-source matcher whose exact error
 * messages EventBridge returns from TestEventPattern/PutRule.
 *
 * Model (as in event-ruler): a pattern compiles to one or more *branches* (`$or` forks them); a branch
 * maps a dotted field path (`detail.state`) to the values allowed there; the event is read as
 * leaves (strings, numbers, booleans, null) under dotted paths, with arrays "crushed out". An event
 * matches when, for some branch, every field has an allowed leaf, all chosen leaves coming from the
 * same element of any array they share ("array consistency").
 *
 * Known, deliberate deviations (all edge cases):
 * - numbers compare by value: the event is already parsed, so 300 and 300.0 are the same number.
 *   The docs say they differ, but EventBridge itself matches them (event-ruler adds a numeric-equals
 *   matcher for every number in a pattern).
 * - the wildcard "Rule is too complex" limit is not evaluated (it depends on event-ruler's machine).
 * - equals-ignore-case folds each character with JavaScript's `toLowerCase`/`toUpperCase`, where
 *   event-ruler uses Java's (Locale.ROOT); the two agree on every case in event-ruler's own tests.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A value an event carries at a leaf. */
type Leaf = string | number | boolean | null;

/** Tests one leaf value of the event. */
type ValueTest = (value: Leaf) => boolean;

/** One array element a leaf was found in: the array itself (by identity) and the index. */
interface ArrayStep {
  readonly array: readonly unknown[];
  readonly index: number;
}

/** A leaf of the event under some path, with the array elements it sits in. */
interface Hit {
  readonly value: Leaf;
  readonly trail: readonly ArrayStep[];
}

/** What one pattern field (a leaf array such as `"state": ["a", {"prefix": "b"}]`) accepts. */
interface FieldSpec {
  /** Dotted path, event-ruler style: pattern keys joined with '.'. */
  readonly path: string;
  /** Value alternatives (exact values and operators other than exists). */
  readonly tests: readonly ValueTest[];
  /** `{"exists": true}` is one of the alternatives: any leaf will do. */
  readonly present: boolean;
  /** `{"exists": false}` is one of the alternatives: no (array-consistent) leaf must be there. */
  readonly absent: boolean;
}

/** A field of a compiled branch, with the index of its path in the matcher's path table. */
interface BranchField extends FieldSpec {
  readonly pathIndex: number;
}

/** Dotted path split for lookup: `keys[i]` lists the event keys that can start at segment i. */
interface PathLookup {
  readonly segmentCount: number;
  /** keys[i][k] is segments i..i+k joined by '.', so `a.b` in a pattern also finds `{"a.b": …}`. */
  readonly keys: readonly (readonly string[])[];
}

/** A compiled event pattern: true when the event matches. Pure; never throws. */
export type EventMatcher = (event: object) => boolean;

/**
 * A malformed event pattern. `name` is the error code EventBridge's API returns for it
 * (`InvalidEventPatternException`); the message starts like EventBridge's
 * ("Event pattern is not valid. Reason: …") and ends with the path of the offending part.
 */
export class InvalidEventPatternError extends Error {
  override readonly name: string = 'InvalidEventPatternException';
  /** The reason alone, worded as EventBridge (event-ruler) words it. */
  readonly reason: string;
  /** JSONPath-like location of the offending part, e.g. `$.detail.state[0].anything-but`. */
  readonly path: string;

  constructor(reason: string, path: string) {
    super(`Event pattern is not valid. Reason: ${reason} (at ${path})`);
    this.reason = reason;
    this.path = path;
  }
}

const OR_KEYWORD = '$or';

/** Names that cannot be fields inside a `$or` branch (event-ruler Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP). */
const RESERVED_IN_OR: ReadonlySet<string> = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case', 'date-after', 'date-on-or-after',
  'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range', 'ip-address-not-in-range',
]);

/** Numeric matching is limited to ±5.0e9 with six decimals (event-ruler ComparableNumber). */
const NUMERIC_LIMIT = 5e9;
const NUMERIC_MAX_DECIMALS = 6;

function fail(reason: string, path: string): never {
  throw new InvalidEventPatternError(reason, path);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** How event-ruler's JSON parser would print the token: used in a few error reasons. */
function tokenText(value: unknown): string {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (typeof value === 'object' && value !== null) return '{';
  return String(value);
}

function isJsonNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function decimalPlaces(value: number): number {
  const text = String(Math.abs(value));
  const [mantissa = '', exponent] = text.split('e');
  const fraction = mantissa.split('.')[1]?.length ?? 0;
  return Math.max(0, fraction - (exponent === undefined ? 0 : Number(exponent)));
}

/** A number usable in numeric matching / numeric anything-but, or the event-ruler reason it is not. */
function checkComparable(value: number, path: string): number {
  if (decimalPlaces(value) > NUMERIC_MAX_DECIMALS) fail('Only values upto 6 decimals are supported', path);
  if (value < -NUMERIC_LIMIT || value > NUMERIC_LIMIT) fail('Value must be between -5.0E9 and 5.0E9, inclusive', path);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Strings: case folding and wildcards
// ---------------------------------------------------------------------------------------------

const REGEXP_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;

/**
 * event-ruler's equals-ignore-case (EqualsIgnoreCaseParser): each character of the pattern matches its
 * own lower-case or upper-case form, each folded on its own and possibly longer than one character
 * ('ΰ' upper-cases to 'Ϋ́', 'ß' to 'SS'). The event's text is not folded, so this is not the same as
 * comparing both sides lower-cased. `anchor` says where the pattern must sit in the event's value.
 */
function ignoreCaseTest(text: string, anchor: 'whole' | 'prefix' | 'suffix'): (value: string) => boolean {
  let source = '';
  for (const char of text) {
    const lower = char.toLowerCase().replace(REGEXP_SYNTAX, '\\$&');
    const upper = char.toUpperCase().replace(REGEXP_SYNTAX, '\\$&');
    source += lower === upper ? lower : `(?:${lower}|${upper})`;
  }
  const regexp = new RegExp(anchor === 'whole' ? `^${source}$` : anchor === 'prefix' ? `^${source}` : `${source}$`);
  return (value) => regexp.test(value);
}

/**
 * Parses a wildcard value into its literal parts (the text between unescaped `*`), or throws with
 * event-ruler's reason. `\*` is a literal asterisk and `\\` a literal backslash; any other escape is
 * invalid, and so are consecutive `*`. Positions count UTF-8 bytes of the value in quotes, as
 * event-ruler reports them.
 */
function parseWildcard(text: string, path: string): readonly string[] {
  const bytePos = (index: number): number => 1 + Buffer.byteLength(text.slice(0, index), 'utf8');
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '*') {
      if (text[i + 1] === '*') fail(`Consecutive wildcard characters at pos ${bytePos(i)}`, path);
      parts.push(current);
      current = '';
    } else if (char === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') fail(`Invalid escape character at pos ${bytePos(i)}`, path);
      current += next;
      i++;
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/** `*` matches any run of characters, including none. Greedy leftmost search is exact for `*`-only globs. */
function wildcardTest(parts: readonly string[]): (value: string) => boolean {
  const first = parts[0] ?? '';
  if (parts.length === 1) return (value) => value === first;
  const last = parts[parts.length - 1] ?? '';
  const middle = parts.slice(1, -1);
  return (value) => {
    if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
    let from = first.length;
    const end = value.length - last.length;
    for (const part of middle) {
      const at = value.indexOf(part, from);
      if (at < 0 || at + part.length > end) return false;
      from = at + part.length;
    }
    return true;
  };
}

// ---------------------------------------------------------------------------------------------
// IP addresses
// ---------------------------------------------------------------------------------------------

function ipv4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

function ipv6Bytes(text: string): number[] {
  let address = text;
  const tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  if (address.includes('.', lastColon)) {
    tail.push(...ipv4Bytes(address.slice(lastColon + 1)));
    address = `${address.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = address.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = all.flatMap((group) => {
    const word = parseInt(group, 16);
    return [word >> 8, word & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * Bytes of an IPv4 or IPv6 address literal, undefined for anything else. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) reads as its IPv4 address, as Java's InetAddress (used by event-ruler) reads it.
 */
function ipBytes(text: string): readonly number[] | undefined {
  if (isIPv4(text)) return ipv4Bytes(text);
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const bytes = ipv6Bytes(text);
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Inclusive byte range test for IP address strings of the same family. */
function ipRangeTest(low: readonly number[], high: readonly number[]): ValueTest {
  return (value) => {
    if (typeof value !== 'string') return false;
    const bytes = ipBytes(value);
    return bytes !== undefined && bytes.length === low.length && compareBytes(bytes, low) >= 0 && compareBytes(bytes, high) <= 0;
  };
}

/**
 * `{"cidr": "10.0.0.0/24"}`. The range is the whole subnet: the address with every host bit cleared
 * to the address with every host bit set (event-ruler CIDR.cidr), so `10.0.0.5/24` is `10.0.0.0/24`.
 * event-ruler rejects /32 (IPv4) and /128 (IPv6) masks; so does this.
 */
function cidrTest(cidr: string, path: string): ValueTest {
  const slashed = cidr.split('/');
  if (slashed.length !== 2) fail("Malformed CIDR, one '/' required", path);
  const [address = '', maskText = ''] = slashed;
  if (!/^[+-]?\d+$/.test(maskText)) fail('Malformed CIDR, mask bits must be an integer', path);
  const maskBits = Number(maskText);
  if (maskBits < 0) fail('Malformed CIDR, mask bits must not be negative', path);
  const low = ipBytes(address);
  if (low === undefined) fail(`Nonstandard IP address: ${address}`, path);
  if (low.length === 4 && maskBits > 31) fail('IPv4 mask bits must be < 32', path);
  if (low.length === 16 && maskBits > 127) fail('IPv6 mask bits must be < 128', path);
  let hostBits = low.length * 8 - maskBits;
  const bottom = [...low];
  const high = [...low];
  for (let i = high.length - 1; i >= 0 && hostBits > 0; i--, hostBits -= 8) {
    const hostMask = hostBits >= 8 ? 0xff : (1 << hostBits) - 1;
    bottom[i] = (bottom[i] ?? 0) & ~hostMask;
    high[i] = (high[i] ?? 0) | hostMask;
  }
  return ipRangeTest(bottom, high);
}

// ---------------------------------------------------------------------------------------------
// Pattern compilation (validation included)
// ---------------------------------------------------------------------------------------------

/** Exact match on a JSON value. A string that is an IP address also matches other spellings of it (event-ruler). */
function exactTest(expected: Leaf): ValueTest {
  if (typeof expected === 'string') {
    const bytes = ipBytes(expected);
    if (bytes !== undefined) {
      const asIp = ipRangeTest(bytes, bytes);
      return (value) => value === expected || asIp(value);
    }
  }
  return (value) => value === expected;
}

/** The single key of a match expression, after its value was compiled: extra keys are an error. */
function onlyKey(expression: Record<string, unknown>, path: string, reason = 'Only one key allowed in match expression'): void {
  if (Object.keys(expression).length > 1) fail(reason, path);
}

const TOO_MANY_NUMERIC = 'Too many elements in numeric expression';

function compileStringOperator(operator: 'prefix' | 'suffix', operand: unknown, path: string): ValueTest {
  if (isPlainObject(operand)) {
    const [inner] = Object.keys(operand);
    if (inner === undefined) fail(`${operator === 'prefix' ? 'Prefix' : 'Suffix'} expression name not found`, path);
    if (inner !== 'equals-ignore-case') fail(`Unsupported ${operator} pattern: ${inner}`, path);
    const text = operand[inner];
    if (typeof text !== 'string') fail('equals-ignore-case match pattern must be a string', `${path}.${inner}`);
    onlyKey(operand, path);
    const matches = ignoreCaseTest(text, operator);
    return (value) => typeof value === 'string' && matches(value);
  }
  if (typeof operand !== 'string') fail(`${operator} match pattern must be a string`, path);
  return operator === 'prefix'
    ? (value) => typeof value === 'string' && value.startsWith(operand)
    : (value) => typeof value === 'string' && value.endsWith(operand);
}

/** `numeric`: `["=", x]`, `["<" | "<=", x]`, `[">" | ">=", x]` or `[">" | ">=", x, "<" | "<=", y]`. */
function compileNumeric(terms: unknown, path: string): ValueTest {
  if (!Array.isArray(terms)) fail('Value of numeric must be an array.', path);
  const operator: unknown = terms[0];
  if (typeof operator !== 'string') fail(`Invalid member in numeric match: ${tokenText(operator)}`, `${path}[0]`);
  const numberAt = (index: number, name: string): number => {
    const term: unknown = terms[index];
    if (!isJsonNumber(term)) fail(`Value of ${name} must be numeric`, `${path}[${index}]`);
    return checkComparable(term, `${path}[${index}]`);
  };
  const single = (test: (value: number, bound: number) => boolean, name: string): ((value: number) => boolean) => {
    const bound = numberAt(1, name);
    if (terms.length > 2) fail(TOO_MANY_NUMERIC, `${path}[2]`);
    return (value) => test(value, bound);
  };
  let inRange: (value: number) => boolean;
  switch (operator) {
    case '=':
      inRange = single((v, b) => v === b, 'equals');
      break;
    case '<':
      inRange = single((v, b) => v < b, '<');
      break;
    case '<=':
      inRange = single((v, b) => v <= b, '<=');
      break;
    case '>':
    case '>=': {
      const bottom = numberAt(1, operator);
      const openBottom = operator === '>';
      const above = (v: number): boolean => (openBottom ? v > bottom : v >= bottom);
      if (terms.length === 2) {
        inRange = above;
        break;
      }
      const upper: unknown = terms[2];
      if (typeof upper !== 'string') fail(`Bad value in numeric range: ${tokenText(upper)}`, `${path}[2]`);
      if (upper !== '<' && upper !== '<=') fail(`Bad numeric range operator: ${upper}`, `${path}[2]`);
      const top = numberAt(3, upper);
      if (terms.length > 4) fail('Too many terms in numeric range expression', `${path}[4]`);
      if (bottom >= top) fail('Bottom must be less than top', path);
      inRange = upper === '<' ? (v) => above(v) && v < top : (v) => above(v) && v <= top;
      break;
    }
    default:
      fail(`Unrecognized numeric range operator: ${operator}`, `${path}[0]`);
  }
  // Numeric matching only works on JSON numbers, within the comparable range.
  return (value) => typeof value === 'number' && value >= -NUMERIC_LIMIT && value <= NUMERIC_LIMIT && inRange(value);
}

type AnythingButKind = 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard';

const ANYTHING_BUT_TYPE_REASON: Record<AnythingButKind, string> = {
  'equals-ignore-case': 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
  prefix: 'prefix/suffix match pattern must be a string',
  suffix: 'prefix/suffix match pattern must be a string',
  wildcard: 'wildcard match pattern must be a string',
};

/** The string test an `anything-but` object operator negates. */
function anythingButStringTest(kind: AnythingButKind, text: string, path: string): (value: string) => boolean {
  switch (kind) {
    case 'equals-ignore-case':
      return ignoreCaseTest(text, 'whole');
    case 'prefix':
    case 'suffix':
      if (text === '') fail('Null prefix/suffix not allowed', path);
      return kind === 'prefix' ? (value) => value.startsWith(text) : (value) => value.endsWith(text);
    case 'wildcard':
      return wildcardTest(parseWildcard(text, path));
  }
}

/**
 * `anything-but`: a string, a number, a list of only strings or only numbers, or an object with one of
 * prefix / suffix / equals-ignore-case / wildcard taking a string or a list of strings. It matches any
 * leaf the inner part does not match, including null and values of another type (anything-but "x"
 * matches a null `state`, as AWS's TestEventPattern does), but never a missing field.
 */
function compileAnythingBut(operand: unknown, path: string): ValueTest {
  if (isPlainObject(operand)) {
    const [kind] = Object.keys(operand);
    if (kind === undefined) fail('Anything-But expression name not found', path);
    if (kind !== 'equals-ignore-case' && kind !== 'prefix' && kind !== 'suffix' && kind !== 'wildcard') {
      fail(`Unsupported anything-but pattern: ${kind}`, path);
    }
    const inner = operand[kind];
    const innerPath = `${path}.${kind}`;
    if (!Array.isArray(inner) && typeof inner !== 'string' && !isJsonNumber(inner)) {
      fail('Value of anything-but must be an array or single string/number value.', innerPath);
    }
    const texts = Array.isArray(inner) ? inner : [inner];
    const tests = texts.map((text: unknown, i) => {
      const at = Array.isArray(inner) ? `${innerPath}[${i}]` : innerPath;
      if (typeof text !== 'string') fail(ANYTHING_BUT_TYPE_REASON[kind], at);
      return anythingButStringTest(kind, text, at);
    });
    onlyKey(operand, path, TOO_MANY_NUMERIC);
    return (value) => typeof value !== 'string' || !tests.some((test) => test(value));
  }
  if (typeof operand === 'string') return (value) => value !== operand;
  if (isJsonNumber(operand)) {
    const excluded = checkComparable(operand, path);
    return (value) => value !== excluded;
  }
  if (!Array.isArray(operand)) fail('Value of anything-but must be an array or single string/number value.', path);
  let strings = 0;
  let numbers = 0;
  operand.forEach((item: unknown, i) => {
    if (typeof item === 'string') strings++;
    else if (isJsonNumber(item)) {
      checkComparable(item, `${path}[${i}]`);
      numbers++;
    }
    else fail('Inside anything but list, start|null|boolean is not supported.', `${path}[${i}]`);
  });
  if ((strings > 0) === (numbers > 0)) {
    fail('Inside anything but list, either all values are number or string, mixed type is not supported', path);
  }
  const excluded: ReadonlySet<unknown> = new Set(operand);
  return (value) => !excluded.has(value);
}

type Alternative = { readonly kind: 'test'; readonly test: ValueTest } | { readonly kind: 'exists'; readonly exists: boolean };

/** One `{operator: operand}` object of a leaf array. */
function compileMatchExpression(expression: Record<string, unknown>, path: string): Alternative {
  const [operator] = Object.keys(expression);
  if (operator === undefined) fail('Match expression name not found', path);
  const operand = expression[operator];
  const at = `${path}.${operator}`;
  const test = (compiled: ValueTest, reason?: string): Alternative => {
    onlyKey(expression, path, reason);
    return { kind: 'test', test: compiled };
  };
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return test(compileStringOperator(operator, operand, at));
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') fail('equals-ignore-case match pattern must be a string', at);
      const matches = ignoreCaseTest(operand, 'whole');
      return test((value) => typeof value === 'string' && matches(value));
    }
    case 'wildcard': {
      if (typeof operand !== 'string') fail('wildcard match pattern must be a string', at);
      const matches = wildcardTest(parseWildcard(operand, at));
      return test((value) => typeof value === 'string' && matches(value));
    }
    case 'numeric':
      return test(compileNumeric(operand, at), TOO_MANY_NUMERIC);
    case 'anything-but':
      return test(compileAnythingBut(operand, at), TOO_MANY_NUMERIC);
    case 'cidr': {
      if (typeof operand !== 'string') fail('prefix match pattern must be a string', at); // sic: EventBridge's wording
      return test(cidrTest(operand, at));
    }
    case 'exists': {
      if (typeof operand !== 'boolean') fail('exists match pattern must be either true or false.', at);
      onlyKey(expression, path);
      return { kind: 'exists', exists: operand };
    }
    default:
      return fail(`Unrecognized match type ${operator}`, at);
  }
}

/** A leaf array: the values (OR) allowed for one field. */
function compileField(fieldPath: string, values: readonly unknown[], path: string): FieldSpec {
  if (values.length === 0) fail('Empty arrays are not allowed', path);
  const tests: ValueTest[] = [];
  let present = false;
  let absent = false;
  values.forEach((value: unknown, i) => {
    const at = `${path}[${i}]`;
    if (isPlainObject(value)) {
      const alternative = compileMatchExpression(value, at);
      if (alternative.kind === 'test') tests.push(alternative.test);
      else if (alternative.exists) present = true;
      else absent = true;
    } else if (typeof value === 'string' || typeof value === 'boolean' || value === null || isJsonNumber(value)) {
      tests.push(exactTest(value));
    } else {
      fail('Match value must be String, number, true, false, or null', at);
    }
  });
  return { path: fieldPath, tests, present, absent };
}

/** A branch under construction: field path → spec. A path given twice keeps the last (event-ruler). */
type DraftBranch = Map<string, FieldSpec>;

/**
 * Compiles the fields of `node` (a pattern object at `prefix`) into every branch of `branches`,
 * returning the resulting branches (`$or` multiplies them).
 */
function compileObject(node: Record<string, unknown>, prefix: string, path: string, branches: DraftBranch[], inOr: boolean): DraftBranch[] {
  const keys = Object.keys(node);
  if (keys.length === 0) fail('Empty objects are not allowed', path);
  let current = branches;
  for (const key of keys) {
    const value = node[key];
    const at = `${path}.${key}`;
    if (key === OR_KEYWORD) {
      current = compileOr(value, prefix, at, current);
      continue;
    }
    if (inOr && RESERVED_IN_OR.has(key)) fail(`${key} is Ruler reserved fieldName which cannot be used inside $or.`, at);
    const fieldPath = prefix === '' ? key : `${prefix}.${key}`;
    if (isPlainObject(value)) {
      current = compileObject(value, fieldPath, at, current, inOr);
    } else if (Array.isArray(value)) {
      const spec = compileField(fieldPath, value, at);
      for (const branch of current) branch.set(fieldPath, spec);
    } else {
      fail(`"${key}" must be an object or an array`, at);
    }
  }
  return current;
}

/** `"$or": [{…}, {…}, …]`: each object forks every current branch. At least two objects. */
function compileOr(value: unknown, prefix: string, path: string, branches: DraftBranch[]): DraftBranch[] {
  if (!Array.isArray(value)) fail('It must be an Array followed with $or.', path);
  const result: DraftBranch[] = [];
  value.forEach((option: unknown, i) => {
    if (!isPlainObject(option)) fail('Only JSON object is allowed in array of $or relationship.', `${path}[${i}]`);
    const forked = branches.map((branch) => new Map(branch));
    result.push(...compileObject(option, prefix, `${path}[${i}]`, forked, true));
  });
  if (value.length < 2) fail('There must have at least 2 Objects in $or relationship.', path);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

function pathLookup(path: string): PathLookup {
  const segments = path.split('.');
  const keys = segments.map((_, start) => segments.slice(start).map((__, k) => segments.slice(start, start + k + 1).join('.')));
  return { segmentCount: segments.length, keys };
}

function isLeaf(value: unknown): value is Leaf {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number';
}

/**
 * Collects the leaves of `node` under `lookup` from segment `at` on. Arrays are transparent (their
 * elements are read under the same path); objects and missing keys at the end of the path are not leaves.
 */
function collectHits(node: unknown, lookup: PathLookup, at: number, trail: readonly ArrayStep[], out: Hit[]): void {
  if (Array.isArray(node)) {
    node.forEach((element: unknown, index) => collectHits(element, lookup, at, [...trail, { array: node, index }], out));
    return;
  }
  if (at === lookup.segmentCount) {
    if (isLeaf(node)) out.push({ value: node, trail });
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  const candidates = lookup.keys[at] ?? [];
  for (let k = 0; k < candidates.length; k++) {
    const key = candidates[k] ?? '';
    if (Object.hasOwn(record, key) && record[key] !== undefined) collectHits(record[key], lookup, at + k + 1, trail, out);
  }
}

const NO_ARRAYS: readonly ArrayStep[] = [];

/** The leaves of one event, by path index, collected on first use. */
class HitsAt {
  private readonly cache: (readonly Hit[] | undefined)[];

  constructor(
    private readonly event: object,
    private readonly paths: readonly PathLookup[],
  ) {
    this.cache = new Array<readonly Hit[] | undefined>(paths.length);
  }

  get(index: number): readonly Hit[] {
    let hits = this.cache[index];
    if (hits === undefined) {
      const found: Hit[] = [];
      const lookup = this.paths[index];
      if (lookup !== undefined) collectHits(this.event, lookup, 0, NO_ARRAYS, found);
      this.cache[index] = hits = found;
    }
    return hits;
  }
}

/** Joins two array memberships; null when they disagree on the element of a shared array. */
function mergeTrails(membership: readonly ArrayStep[], trail: readonly ArrayStep[]): readonly ArrayStep[] | null {
  if (trail.length === 0) return membership;
  let merged: ArrayStep[] | undefined;
  for (const step of trail) {
    const known = membership.find((m) => m.array === step.array);
    if (known === undefined) (merged ??= [...membership]).push(step);
    else if (known.index !== step.index) return null;
  }
  return merged ?? membership;
}

function acceptsValue(field: FieldSpec, hit: Hit): boolean {
  if (field.present) return true;
  for (const test of field.tests) if (test(hit.value)) return true;
  return false;
}

/**
 * True when every field of the branch can be satisfied by leaves that agree on array elements.
 * Fields are visited in path order (event-ruler sorts field names); an `exists: false` alternative
 * holds when no leaf of its path fits the array elements chosen so far.
 */
function matchBranch(fields: readonly BranchField[], hitsAt: HitsAt): boolean {
  const candidates: (readonly Hit[])[] = [];
  // Without array elements in play, every field decides alone and no search is needed.
  let needsSearch = false;
  for (const field of fields) {
    const hits = hitsAt.get(field.pathIndex);
    const accepted: Hit[] = [];
    for (const hit of hits) {
      if (!acceptsValue(field, hit)) continue;
      accepted.push(hit);
      if (hit.trail.length > 0) needsSearch = true;
    }
    if (accepted.length === 0) {
      if (!field.absent || hits.some((hit) => hit.trail.length === 0)) return false;
      if (hits.length > 0) needsSearch = true;
    }
    candidates.push(accepted);
  }
  if (!needsSearch) return true;
  const search = (i: number, membership: readonly ArrayStep[]): boolean => {
    const field = fields[i];
    if (field === undefined) return true;
    let triedOutsideArrays = false;
    for (const hit of candidates[i] ?? []) {
      if (hit.trail.length === 0) {
        if (triedOutsideArrays) continue;
        triedOutsideArrays = true;
      }
      const merged = mergeTrails(membership, hit.trail);
      if (merged !== null && search(i + 1, merged)) return true;
    }
    if (field.absent && hitsAt.get(field.pathIndex).every((hit) => mergeTrails(membership, hit.trail) === null)) {
      return search(i + 1, membership);
    }
    return false;
  };
  return search(0, NO_ARRAYS);
}

/**
 * Validates an event pattern and compiles it into a reusable matcher. Compile once per rule and call
 * the matcher for every event: PutEvents evaluates many rules per event.
 *
 * @param pattern - the parsed EventPattern JSON (a plain object).
 * @returns a pure function telling whether an event (a parsed JSON object) matches.
 * @throws {@link InvalidEventPatternError} when the pattern is malformed (see {@link validatePattern}).
 * Pure: the pattern is read, never kept or modified.
 */
export function compilePattern(pattern: unknown): EventMatcher {
  if (!isPlainObject(pattern)) fail('Filter is not an object', '$');
  const drafts = compileObject(pattern, '', '$', [new Map()], false);
  const paths: PathLookup[] = [];
  const pathIndex = new Map<string, number>();
  const branches = drafts.map((draft) =>
    [...draft.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((spec): BranchField => {
        let index = pathIndex.get(spec.path);
        if (index === undefined) {
          index = paths.length;
          pathIndex.set(spec.path, index);
          paths.push(pathLookup(spec.path));
        }
        return { ...spec, pathIndex: index };
      }),
  );
  return (event) => {
    const hitsAt = new HitsAt(event, paths);
    for (const fields of branches) if (matchBranch(fields, hitsAt)) return true;
    return false;
  };
}

/**
 * Checks that `pattern` is an event pattern EventBridge would accept.
 *
 * Rejected, as EventBridge rejects them: a pattern that is not a JSON object; empty objects; a field
 * whose value is neither an object nor an array; empty arrays; match values that are not a string,
 * number, boolean, null or a one-key operator object; unknown operators (names are case-sensitive);
 * malformed `prefix`/`suffix`/`equals-ignore-case`/`wildcard` (consecutive `*`, escapes other than
 * `\*` and `\\`)/`anything-but`/`numeric`/`exists`/`cidr` operands; `$or` that is not an array of at
 * least two objects, or whose objects use an operator name as a field.
 *
 * @param pattern - the parsed EventPattern JSON.
 * @throws {@link InvalidEventPatternError} naming the reason and the path of the offending part.
 * Pure.
 */
export function validatePattern(pattern: unknown): void {
  compilePattern(pattern);
}

/**
 * Tells whether `event` matches `pattern`, as EventBridge decides for a rule. Compiles the pattern on
 * every call: use {@link compilePattern} to match many events against one pattern.
 *
 * @param pattern - the parsed EventPattern JSON.
 * @param event - the parsed event (the full envelope: source, detail-type, detail, …).
 * @throws {@link InvalidEventPatternError} when the pattern is malformed.
 * Pure: neither argument is modified.
 */
export function matchesPattern(pattern: object, event: object): boolean {
  return compilePattern(pattern)(event);
}
