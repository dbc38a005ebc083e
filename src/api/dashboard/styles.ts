/**
 * The dashboard's stylesheet, as a string module so `tsc` ships it in dist/ with no copy step.
 * System fonts only (the page is self-hosted and may be offline); colours meet WCAG AA contrast.
 */
export const STYLES = `
:root {
  --bg: #f6f8fa; --panel: #ffffff; --text: #1f2328; --muted: #57606a; --line: #d0d7de;
  --accent: #0550ae; --focus: #0969da;
  --ok-bg: #dafbe1; --ok: #116329; --bad-bg: #ffebe9; --bad: #a40e26; --warn-bg: #fff8c5; --warn: #7d4e00;
  --run-bg: #ddf4ff; --run: #0550ae; --idle-bg: #eaeef2; --idle: #424a53;
  --add-bg: #e6ffec; --del-bg: #ffebe9; --hunk-bg: #ddf4ff;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --panel: #161b22; --text: #e6edf3; --muted: #9198a1; --line: #30363d;
    --accent: #4493f8; --focus: #4493f8;
    --ok-bg: #12361f; --ok: #56d364; --bad-bg: #3d1214; --bad: #ff7b72; --warn-bg: #3a2a05; --warn: #e3b341;
    --run-bg: #0c2d6b; --run: #79c0ff; --idle-bg: #2d333b; --idle: #c9d1d9;
    --add-bg: #12361f; --del-bg: #3d1214; --hunk-bg: #0c2d6b;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, [tabindex]:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; line-height: 1.3; overflow-wrap: anywhere; }
h2 { font-size: 1.05rem; margin: 0 0 .75rem; }
.muted { color: var(--muted); }
.nowrap { white-space: nowrap; }
.error { color: var(--bad); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.skip { position: absolute; left: -999px; top: 0; background: var(--panel); padding: .5rem; }
.skip:focus { left: .5rem; }

.top { display: flex; align-items: center; gap: 1rem; padding: .6rem 1.25rem; background: var(--panel); border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; font-size: 1.05rem; color: var(--text); text-decoration: none; }
.live { color: var(--muted); font-size: .85rem; margin-left: auto; }
.live::before { content: ""; display: inline-block; width: .55rem; height: .55rem; border-radius: 50%; margin-right: .4rem; background: var(--muted); vertical-align: baseline; }
.live[data-state="live"]::before { background: var(--ok); }
.live[data-state="down"]::before { background: var(--bad); }
.live:empty::before { display: none; }

main { max-width: 1240px; margin: 0 auto; padding: 1.25rem; }
main:focus { outline: none; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; }

button { font: inherit; cursor: pointer; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); color: var(--text); padding: .35rem .85rem; }
button:hover { border-color: var(--muted); }
button:disabled { cursor: default; opacity: .65; }
button.primary { background: #1f883d; border-color: #1a7f37; color: #fff; font-weight: 600; }
button.danger { color: var(--bad); border-color: var(--bad); font-weight: 600; }
button.link { border: 0; background: none; color: var(--accent); padding: 0; text-decoration: underline; }
input, select { font: inherit; color: var(--text); background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .5rem; }

.sign-in { max-width: 26rem; margin: 12vh auto 0; }
.sign-in label { display: block; font-weight: 600; margin: 1rem 0 .3rem; }
.sign-in input { width: 100%; }
.sign-in button { margin-top: 1rem; }

.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 1.25rem; margin-bottom: .75rem; }
.toolbar h1 { margin: 0 auto 0 0; }
.toolbar label { color: var(--muted); font-size: .9rem; }
.toolbar select { margin-left: .35rem; }

.badge { display: inline-block; border-radius: 999px; padding: .05rem .6rem; font-size: .8rem; font-weight: 600; white-space: nowrap; background: var(--idle-bg); color: var(--idle); }
.badge[data-tone="ok"] { background: var(--ok-bg); color: var(--ok); }
.badge[data-tone="bad"] { background: var(--bad-bg); color: var(--bad); }
.badge[data-tone="warn"] { background: var(--warn-bg); color: var(--warn); }
.badge[data-tone="run"] { background: var(--run-bg); color: var(--run); }
.badge[data-tone="run"]::before { content: "● "; animation: pulse 1.4s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: .3; } }
@media (prefers-reduced-motion: reduce) { .badge[data-tone="run"]::before { animation: none; } }
.source { font-size: .75rem; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 .3rem; margin-left: .35rem; }

table.tasks { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.tasks th, .tasks td { text-align: left; padding: .55rem .75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.tasks th { white-space: nowrap; font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); background: var(--bg); }
.tasks tbody tr:last-child td { border-bottom: 0; }
.tasks tbody tr:hover { background: var(--bg); }
.tasks td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tasks th.num { text-align: right; }
.tasks .title a { font-weight: 600; text-decoration: none; overflow-wrap: anywhere; }
.tasks .title a:hover { text-decoration: underline; }
.tasks .sub { display: block; color: var(--muted); font-size: .8rem; font-family: var(--mono); }
.tasks .repo { overflow-wrap: anywhere; max-width: 18rem; }
.empty { text-align: center; color: var(--muted); padding: 2rem; }

.run-head .meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .6rem 1.25rem; margin: 1rem 0 0; }
.run-head .meta div { min-width: 0; }
.run-head dt { font-size: .75rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
.run-head dd { margin: 0; overflow-wrap: anywhere; }
.run-head .line { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; }
.run-head .actions { margin-left: auto; display: flex; align-items: center; gap: .75rem; }
.summary { margin: 1rem 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.files { margin: .5rem 0 0; padding-left: 1.25rem; font-family: var(--mono); font-size: .85rem; }
.back { display: inline-block; margin-bottom: .75rem; }

.section-head { display: flex; align-items: baseline; gap: 1rem; }
.section-head .muted { font-size: .85rem; }
.log { list-style: none; margin: 0; padding: .5rem .75rem; font: 13px/1.55 var(--mono); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; max-height: 60vh; overflow: auto; }
.log li { white-space: pre-wrap; overflow-wrap: anywhere; }
.log li[data-kind="error"] { color: var(--bad); }
.log li[data-kind="end"] { font-weight: 700; }
.log li[data-kind="text"] { color: var(--muted); }
.log:empty::after { content: "No events yet."; color: var(--muted); }
.log[data-ended]:empty::after { content: "This run recorded no events."; }

.diff { margin: 0; font: 12.5px/1.5 var(--mono); background: var(--panel); border: 1px solid var(--line); border-radius: 6px; overflow: auto; max-height: 75vh; padding: .25rem 0; }
.diff span { display: block; padding: 0 .75rem; white-space: pre; min-height: 1.5em; }
.diff .add { background: var(--add-bg); }
.diff .del { background: var(--del-bg); }
.diff .hunk { background: var(--hunk-bg); color: var(--muted); }
.diff .file { font-weight: 700; border-top: 1px solid var(--line); margin-top: .25rem; padding-top: .25rem; }
.diff .file:first-child { border-top: 0; margin-top: 0; }
.diff .meta { color: var(--muted); }

@media (max-width: 720px) {
  main { padding: .75rem; }
  .top { padding: .5rem .75rem; }
  table.tasks, .tasks tbody, .tasks tr, .tasks td { display: block; width: 100%; }
  table.tasks { border: 0; background: none; }
  .tasks thead { position: absolute; left: -9999px; }
  .tasks tbody tr { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; margin-bottom: .6rem; padding: .35rem 0; }
  .tasks td { border: 0; padding: .15rem .85rem; display: flex; gap: .75rem; }
  .tasks td.num { text-align: left; }
  .tasks td::before { content: attr(data-label); flex: 0 0 6.5rem; color: var(--muted); font-size: .8rem; padding-top: .1rem; }
  .tasks td.title::before { display: none; }
  .tasks td.title { display: block; padding-top: .35rem; }
  .tasks .repo { max-width: none; }
  .run-head .actions { margin-left: 0; }
}
`;
