/**
 * A flat, typed view of a response's answers, keyed by contract linkId. It is the
 * evaluation context of every rule: built once per response, so rules never walk
 * the item tree. A missing, invalid or disabled item is simply absent: absence is
 * "unknown", never "no".
 */
export type AnswerValue = boolean | number | string | readonly string[];

export type AnswerView = Readonly<Record<string, AnswerValue>>;

/** A null-prototype record, so linkIds such as `constructor` can never collide with Object.prototype. */
export function emptyAnswerView(): Record<string, AnswerValue> {
  return Object.create(null) as Record<string, AnswerValue>;
}

export function withAnswers(view: AnswerView, changes: Readonly<Record<string, AnswerValue | undefined>>): AnswerView {
  const next = emptyAnswerView();
  Object.assign(next, view);
  for (const [linkId, value] of Object.entries(changes)) {
    if (value === undefined) {
      delete next[linkId];
    } else {
      next[linkId] = value;
    }
  }
  return next;
}
