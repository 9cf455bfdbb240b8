/** Reading the /queue page's review blocks as a browser and a screen reader would. */

/** One review form of the /queue page, as a browser would post it: its action and hidden fields. */
interface RowForm {
  readonly action: string;
  readonly fields: Record<string, string>;
}

/** The review block of an assessment's first row (`<div class="review" id="review-{id}">`), as HTML. */
export function reviewBlock(page: string, assessmentId: string): string {
  const start = page.indexOf(`<div class="review" id="review-${assessmentId}">`);
  return start < 0 ? '' : page.slice(start, page.indexOf('</div>', start) + '</div>'.length);
}

/** A review block's text as a screen reader reads it: tags dropped (the visually hidden "changed to" kept, the aria-hidden arrow dropped). */
export function spoken(block: string): string {
  return block
    .replace(/<span aria-hidden="true">[^<]*<\/span>/g, '')
    .replace(/<details>[\s\S]*<\/details>/g, '')
    .replace(/<form[\s\S]*?<\/form>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The forms in a review block, by their decision. */
export function rowForms(block: string): Map<string, RowForm> {
  const forms = new Map<string, RowForm>();
  for (const match of block.matchAll(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/g)) {
    const fields = Object.fromEntries([...(match[2] ?? '').matchAll(/<input type="hidden" name="([a-z]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]));
    forms.set(fields.decision ?? '', { action: match[1] ?? '', fields: fields as Record<string, string> });
  }
  return forms;
}
