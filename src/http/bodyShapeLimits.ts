import { OperationOutcomeError } from '@medplum/core';
import type { RequestHandler } from 'express';

/** The request body size limit express.json enforces (413 past it). */
export const BODY_LIMIT = '1mb';

/**
 * Far beyond any FHIR resource this service takes (a QuestionnaireResponse nests about 10
 * levels, a transaction of them about 15), and far below what would make a recursive walk
 * (JSON.stringify, validation, FHIRPath) overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** More entries than any array a triage, a transaction or a notification needs. */
export const MAX_JSON_ARRAY_LENGTH = 10_000;

/**
 * Names that mean something to JavaScript objects, never to FHIR (no FHIR element has one).
 * JSON.parse keeps them as plain own properties, but code downstream treats them as the
 * object's own machinery: a merge or copy that assigns `__proto__` pollutes Object.prototype,
 * and a `toString` or `valueOf` that is not a function breaks any interpolation or comparison
 * of the object (seen in fuzzing, inside the FHIR libraries). So they are refused at the door:
 * every member of Object.prototype, `prototype`, and `toJSON` (which JSON.stringify calls).
 */
const FORBIDDEN_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype', 'toJSON']);

export type ShapeProblem = { readonly status: 400 | 413; readonly text: string } | undefined;

/**
 * Walks a parsed body without recursion (so a hostile depth cannot overflow the stack
 * here) and reports the first problem: too deep (400), an array too long (413), or a
 * forbidden key (400).
 */
export function shapeProblem(body: unknown): ShapeProblem {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: body, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (value === null || typeof value !== 'object') {
      continue;
    }
    if (depth > MAX_JSON_DEPTH) {
      return { status: 400, text: `The body is nested more than ${MAX_JSON_DEPTH} levels deep.` };
    }
    if (Array.isArray(value)) {
      if (value.length > MAX_JSON_ARRAY_LENGTH) {
        return { status: 413, text: `The body has an array of more than ${MAX_JSON_ARRAY_LENGTH} entries.` };
      }
      for (const item of value) {
        stack.push({ value: item, depth: depth + 1 });
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        return { status: 400, text: `The body has a property named "${key}", which no FHIR resource has.` };
      }
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return undefined;
}

/** After express.json: refuses a body of a hostile shape before any handler works on it. */
export function bodyShapeLimits(): RequestHandler {
  return (req, _res, next) => {
    const problem = shapeProblem(req.body);
    if (!problem) {
      next();
      return;
    }
    next(
      new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        id: problem.status === 413 ? 'content-too-large' : 'bad-request',
        issue: [{ severity: 'error', code: problem.status === 413 ? 'too-costly' : 'structure', details: { text: problem.text } }],
      })
    );
  };
}
