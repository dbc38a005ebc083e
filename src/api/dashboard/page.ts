/**
 * The dashboard's one HTML page. Everything it shows is built by the client script; the page
 * only holds the frame, so it stays the same for every user and needs no escaping beyond the
 * one attribute below.
 */

/** Where the client's modules are served from: the dist layout mirrored, so relative imports resolve. */
export const APP_PREFIX = '/dashboard/app/';
export const ENTRY_MODULE = 'api/dashboard/client/main.js';

function attribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function renderPage(options: { githubWebUrl: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>autocoder</title>
<link rel="icon" href="${APP_PREFIX}icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${APP_PREFIX}styles.css">
<script type="module" src="${APP_PREFIX}${ENTRY_MODULE}"></script>
</head>
<body data-github-url="${attribute(options.githubWebUrl)}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="#/">autocoder</a>
<span id="live" class="live" role="status" aria-live="polite"></span>
<button id="sign-out" type="button" class="link" hidden>Forget token</button>
</header>
<main id="main" tabindex="-1">
<p class="muted">Loading…</p>
<noscript><p>The dashboard needs JavaScript.</p></noscript>
</main>
</body>
</html>
`;
}

/** A favicon that needs no request to anywhere else. */
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f6feb"/><path d="M11 10l-6 6 6 6M21 10l6 6-6 6" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
