/**
 * Limits that keep a check cheap and safe whatever a client sends; measured before ajv
 * runs, by an iterative walk that hostile input cannot push off the stack.
 *
 * Depth: ajv validates by recursion, and a body of a few thousand nested `[` overflows
 * it. 128 levels leave room for questionnaires nested far deeper than any real one (an
 * `item` level costs two JSON levels, an item below an answer four).
 *
 * Size: with all errors collected, ajv's cost grows with the square of the number of
 * failing nested objects (each failing `$ref` call copies the error list so far):
 * 30,000 bad items took 4 s. Beyond this many JSON values (about 90 times a complete
 * 33-item QuestionnaireResponse, which has 223) only the first problem is looked for.
 */
export const MAX_NESTING_DEPTH = 128;
export const MAX_VALUES_FOR_FULL_REPORT = 20_000;

export interface JsonShape {
  tooDeep: boolean;
  /** JSON values counted (objects, arrays, primitives); the walk stops once too deep. */
  values: number;
}

export function measureJson(value: unknown, maxDepth: number = MAX_NESTING_DEPTH): JsonShape {
  let values = 1;
  const pending: Array<{ container: object; depth: number }> = [];
  if (typeof value === 'object' && value !== null) {
    pending.push({ container: value, depth: 1 });
  }
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.depth > maxDepth) {
      return { tooDeep: true, values };
    }
    for (const child of Object.values(next.container)) {
      values++;
      if (typeof child === 'object' && child !== null) {
        pending.push({ container: child, depth: next.depth + 1 });
      }
    }
  }
  return { tooDeep: false, values };
}
