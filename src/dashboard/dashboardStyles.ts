/**
 * The dashboard's own stylesheet (the page's CSP allows 'self' styles only, no inline
 * style). Chart colours are used with text labels and a table under every chart, so no
 * figure rests on colour alone; every text colour meets WCAG AA on white.
 * Chart text and table cells declare the white they sit on: axe-core cannot see through an
 * <svg> (an image to it) nor past a cell the scrolling table wrapper clips, and would
 * otherwise leave their contrast for a person to check.
 */
export const DASHBOARD_CSS = `
:root { color-scheme: light; --ink: #1b1b1b; --muted: #4a4a4a; --line: #b1b4b6; --focus: #ffdd00; --link: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; line-height: 1.45; color: var(--ink); background: #fff; }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, .table-wrap:focus-visible { outline: 3px solid var(--ink); outline-offset: 0; box-shadow: 0 0 0 6px var(--focus); }
.skip { position: absolute; left: -999px; top: 0; padding: .75rem 1rem; background: var(--focus); color: var(--ink); }
.skip:focus { left: 0; z-index: 1; }
header, main { max-width: 70rem; margin: 0 auto; padding: 0 1rem; }
header { border-bottom: 4px solid var(--ink); padding-top: 1rem; }
h1 { font-size: 1.75rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2rem 0 .5rem; }
form.range { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-end; margin: 1rem 0; }
form.range label { display: flex; flex-direction: column; font-weight: 600; }
input { font: inherit; min-height: 44px; padding: .3rem .5rem; border: 2px solid var(--ink); border-radius: 4px; }
button { font: inherit; min-height: 44px; padding: .4rem 1rem; border: 2px solid var(--ink); border-radius: 4px; background: #f3f2f1; color: var(--ink); cursor: pointer; }
.links a { display: inline-block; min-height: 44px; padding: .6rem 0; margin-right: 1.5rem; }
.note { color: var(--muted); }
.warning { border-left: 6px solid #8b1a1a; padding: .5rem .75rem; background: #fdf2f2; }
svg { display: block; max-width: 100%; height: auto; margin: .5rem 0; background: #fff; }
svg text { background-color: #fff; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0 .5rem; color: var(--muted); }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); background: #fff; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
thead th { border-bottom: 2px solid var(--ink); }
.key { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; padding: 0; list-style: none; }
.swatch { display: inline-block; width: 1rem; height: 1rem; margin-right: .35rem; vertical-align: -.15rem; border: 1px solid var(--ink); }
.d-emergency { background: #8b1a1a; } .d-urgent { background: #b54708; } .d-gp { background: #1d4ed8; } .d-physio { background: #0f766e; } .d-self-care { background: #6b7280; }
`;
