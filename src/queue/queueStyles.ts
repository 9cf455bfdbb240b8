/**
 * The queue page's only stylesheet, served by the router from this constant so the page
 * needs no inline style (the Content-Security-Policy allows 'self' styles only) and no
 * external asset. Colours meet WCAG AA contrast; meaning never rests on colour alone
 * (priority and "Overdue" are words).
 */
export const QUEUE_CSS = `
:root { color-scheme: light; --ink: #1b1b1b; --muted: #4a4a4a; --line: #b1b4b6; --focus: #ffdd00; --link: #1d4ed8; --alert: #8b1a1a; }
* { box-sizing: border-box; }
html { font-size: 106.25%; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; line-height: 1.45; color: var(--ink); background: #fff; }
a { color: var(--link); }
a:focus-visible, button:focus-visible, .table-wrap:focus-visible { outline: 3px solid var(--ink); outline-offset: 0; box-shadow: 0 0 0 6px var(--focus); }
.skip { position: absolute; left: -999px; top: 0; padding: .75rem 1rem; background: var(--focus); color: var(--ink); }
.skip:focus { left: 0; z-index: 1; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.top, main { max-width: 80rem; margin: 0 auto; padding: 0 1rem; }
.top { display: flex; flex-wrap: wrap; gap: 1rem; justify-content: space-between; align-items: flex-start; border-bottom: 4px solid var(--ink); padding-top: 1rem; }
h1 { font-size: 1.75rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 1.75rem 0 .5rem; }
.account { display: flex; gap: .75rem; align-items: center; }
button { font: inherit; min-height: 44px; padding: .4rem 1rem; border: 2px solid var(--ink); border-radius: 4px; background: #f3f2f1; color: var(--ink); cursor: pointer; }
.summary { padding-left: 1.25rem; }
.summary li { margin: .3rem 0; }
.summary a, td a { display: inline-block; min-height: 44px; padding: .6rem 0; }
.warning { border-left: 6px solid var(--alert); padding: .5rem .75rem; background: #fdf2f2; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-weight: 600; padding: .25rem 0 .5rem; color: var(--muted); }
th, td { text-align: left; vertical-align: top; padding: .55rem .5rem; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
thead th { border-bottom: 2px solid var(--ink); }
tbody th { font-weight: 600; }
.detail { display: block; font-weight: 400; font-size: .9rem; color: var(--muted); }
.priority { display: inline-block; white-space: nowrap; padding: .1rem .45rem; border-radius: 3px; font-weight: 700; border: 2px solid transparent; }
.priority-stat { background: #8b1a1a; color: #fff; }
.priority-asap { background: #8a3b00; color: #fff; }
.priority-urgent { background: #6b4d00; color: #fff; }
.priority-routine { background: #fff; color: var(--ink); border-color: var(--ink); }
tr.overdue > :first-child { box-shadow: inset 6px 0 0 var(--alert); padding-left: 1rem; }
.overdue-flag { display: block; color: var(--alert); }
@media (max-width: 60rem) {
  html { font-size: 100%; }
  table { font-size: .95rem; }
  th, td { padding: .45rem .3rem; }
}
`;
