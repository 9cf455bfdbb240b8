/**
 * A tiny HTML template: every interpolated value is escaped unless it is already Html
 * (the output of another `html` template). No template engine: the queue page is small,
 * and escaping by default means a value can only become markup on purpose.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value instanceof Html) {
    return value.text;
  }
  if (Array.isArray(value)) {
    return value.map(render).join('');
  }
  if (value === null || value === undefined || value === false) {
    return '';
  }
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/**
 * A whole staff page (/queue and its dashboard share the frame): never indexed, a skip link to
 * `#main` that says where it goes, and the page's own stylesheet.
 */
export function staffPage(page: { readonly title: string; readonly stylesheet: string; readonly skipTo: string; readonly body: Html }): string {
  return html`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${page.title}: hip pain triage</title>
<link rel="stylesheet" href="${page.stylesheet}">
</head>
<body>
<a class="skip" href="#main">${page.skipTo}</a>
${page.body}
</body>
</html>
`.text;
}
