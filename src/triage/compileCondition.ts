import type { FhirPathAtom } from '@medplum/core';
import type { AnswerView } from './answerView';

/** A FHIRPath collection of primitive values, as our answer views hold them. */
type Collection = readonly (boolean | number | string)[];

/** A condition compiled to a closure: answers and variables in, a FHIRPath collection out. */
export type CompiledPredicate = (answers: AnswerView, variables: Readonly<Record<string, boolean | number | string>>) => Collection;

type Evaluate = (answers: AnswerView, variables: Readonly<Record<string, boolean | number | string>>, self: Collection) => Collection;

interface Node {
  readonly operator?: string;
  readonly left?: Node;
  readonly right?: Node;
  readonly name?: string;
  readonly args?: readonly Node[];
  readonly value?: { readonly type: string; readonly value: unknown };
}

const EMPTY: Collection = Object.freeze([]);
const TRUE: Collection = Object.freeze([true]);
const FALSE: Collection = Object.freeze([false]);

/**
 * Compiles the small FHIRPath subset the ruleset uses (symbols, literals, `and`, `or`,
 * comparisons, `in`, `contains`, `|`, `exists()`, `empty()`, `not()` and `%variables`)
 * over @medplum/core's parsed tree into plain closures. Medplum's evaluator stays the
 * reference: anything outside the subset returns undefined and is evaluated by Medplum,
 * and a differential property test (test/triage/compileCondition.test.ts) checks that
 * both give the same collection for every condition on generated answers. The reason is
 * speed: Medplum resolves each name through its type schema and, for an absent answer,
 * tries every `value[x]` suffix, which made scoring ten times slower than the rest of
 * the service.
 */
export function compileCondition(atom: FhirPathAtom): CompiledPredicate | undefined {
  const evaluate = compile(atom.child as Node);
  return evaluate && ((answers, variables) => evaluate(answers, variables, EMPTY));
}

function compile(node: Node): Evaluate | undefined {
  if (node.value !== undefined) {
    const literal = node.value.value;
    if (typeof literal !== 'boolean' && typeof literal !== 'number' && typeof literal !== 'string') {
      return undefined;
    }
    const result: Collection = Object.freeze([literal]);
    return () => result;
  }
  if (node.operator !== undefined) {
    return compileOperator(node);
  }
  if (node.args !== undefined) {
    // A function applied to the focus (no dot): only `not`, `exists`, `empty` on `$this` would make sense; leave to Medplum.
    return undefined;
  }
  const name = node.name;
  if (name === undefined) {
    return undefined;
  }
  if (name === '$this') {
    return (_answers, _variables, self) => self;
  }
  if (name.startsWith('%')) {
    return (_answers, variables) => {
      const value = variables[name];
      if (value === undefined) {
        throw new Error(`Undefined variable ${name}`);
      }
      return [value];
    };
  }
  return (answers) => {
    const value = answers[name];
    return value === undefined ? EMPTY : Array.isArray(value) ? (value as Collection) : [value as boolean | number | string];
  };
}

function compileOperator(node: Node): Evaluate | undefined {
  const { operator, left, right } = node;
  if (!left || !right) {
    return undefined;
  }
  const constant = constantOf(node);
  if (constant) {
    // A list of literals such as ('a-lot' | 'unable') is built once, not on every evaluation.
    return () => constant;
  }
  if (operator === '.') {
    return compileInvocation(left, right);
  }
  const l = compile(left);
  const r = compile(right);
  if (!l || !r) {
    return undefined;
  }
  switch (operator) {
    case 'and':
      return (a, v, s) => and(toBoolean(l(a, v, s)), toBoolean(r(a, v, s)));
    case 'or':
      return (a, v, s) => or(toBoolean(l(a, v, s)), toBoolean(r(a, v, s)));
    case '=':
      return (a, v, s) => equals(l(a, v, s), r(a, v, s));
    case '!=':
      return (a, v, s) => not(equals(l(a, v, s), r(a, v, s)));
    case '<':
    case '<=':
    case '>':
    case '>=':
      return (a, v, s) => compare(operator, l(a, v, s), r(a, v, s));
    case 'in':
      return (a, v, s) => membership(l(a, v, s), r(a, v, s));
    case 'contains':
      return (a, v, s) => membership(r(a, v, s), l(a, v, s));
    case '|':
      return (a, v, s) => union(l(a, v, s), r(a, v, s));
    default:
      return undefined;
  }
}

function compileInvocation(target: Node, fn: Node): Evaluate | undefined {
  const focus = compile(target);
  if (!focus || fn.args === undefined || fn.name === undefined) {
    return undefined;
  }
  const args = fn.args;
  switch (fn.name) {
    case 'exists': {
      if (args.length === 0) {
        return (a, v, s) => (focus(a, v, s).length > 0 ? TRUE : FALSE);
      }
      const criteria = args.length === 1 && args[0] ? compile(args[0]) : undefined;
      return criteria && ((a, v, s) => (focus(a, v, s).some((item) => toBoolean(criteria(a, v, [item])) === true) ? TRUE : FALSE));
    }
    case 'empty':
      return args.length === 0 ? (a, v, s) => (focus(a, v, s).length === 0 ? TRUE : FALSE) : undefined;
    case 'not':
      return args.length === 0 ? (a, v, s) => not(focus(a, v, s)) : undefined;
    default:
      return undefined;
  }
}

/** The value of a literal or a union of literals, known when the ruleset is loaded. */
function constantOf(node: Node): Collection | undefined {
  if (node.value !== undefined) {
    const literal = node.value.value;
    return typeof literal === 'boolean' || typeof literal === 'number' || typeof literal === 'string' ? Object.freeze([literal]) : undefined;
  }
  if (node.operator === '|' && node.left && node.right) {
    const left = constantOf(node.left);
    const right = constantOf(node.right);
    return left && right ? Object.freeze(union(left, right)) : undefined;
  }
  return undefined;
}

/** FHIRPath singleton evaluation to a boolean: empty is unknown (undefined). */
function toBoolean(collection: Collection): boolean | undefined {
  if (collection.length === 0) {
    return undefined;
  }
  const first = collection[0];
  return collection.length === 1 && typeof first === 'boolean' ? first : true;
}

function and(l: boolean | undefined, r: boolean | undefined): Collection {
  if (l === false || r === false) return FALSE;
  if (l === true && r === true) return TRUE;
  return EMPTY;
}

function or(l: boolean | undefined, r: boolean | undefined): Collection {
  if (l === true || r === true) return TRUE;
  if (l === false && r === false) return FALSE;
  return EMPTY;
}

function not(collection: Collection): Collection {
  const value = toBoolean(collection);
  return value === undefined ? EMPTY : value ? FALSE : TRUE;
}

function equals(l: Collection, r: Collection): Collection {
  if (l.length === 0 || r.length === 0) return EMPTY;
  if (l.length !== r.length) return FALSE;
  return l.every((item, i) => item === r[i]) ? TRUE : FALSE;
}

function compare(operator: string, l: Collection, r: Collection): Collection {
  if (l.length !== 1 || r.length !== 1) return EMPTY;
  const a = l[0] as number | string;
  const b = r[0] as number | string;
  if (typeof a !== typeof b) return EMPTY;
  const result = operator === '<' ? a < b : operator === '<=' ? a <= b : operator === '>' ? a > b : a >= b;
  return result ? TRUE : FALSE;
}

/** `item in collection`: empty when the item is empty, false when the collection is. */
function membership(item: Collection, collection: Collection): Collection {
  if (item.length === 0) return EMPTY;
  return collection.includes(item[0] as boolean | number | string) ? TRUE : FALSE;
}

function union(l: Collection, r: Collection): Collection {
  return [...new Set([...l, ...r])];
}
