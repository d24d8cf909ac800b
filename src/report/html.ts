/**
 * `analyze --html OUT.html`: the report as one self-contained page, to open from disk, mail and
 * archive.
 *
 * Contract: `renderHtml(report)` returns the whole document. Everything is inline: uPlot's script
 * and stylesheet (bundled at build time, tools/embed-page.js), the page's own script and
 * stylesheet (report/page/), and the report itself as JSON in a non-executed
 * <script type="application/json">. A Content-Security-Policy meta allows nothing remote and
 * no inline code but the two blocks named by their SHA-256 hashes, so the page loads nothing and
 * runs nothing else, even if a capture's text (an address, a file name) were crafted.
 * The JSON is escaped so that no `<`, `>`, `&`, U+2028 or U+2029 reaches the HTML parser raw:
 * `</script>` in the data cannot close its block.
 */
import { createHash } from 'node:crypto';
import { Report } from './model';
import { PAGE_CSS, PAGE_JS, UPLOT_CSS, UPLOT_JS } from './page-assets.generated';

export function renderHtml(report: Report): string {
  const script = `${UPLOT_JS}\n;\n${PAGE_JS}`;
  const style = `${UPLOT_CSS}\n${PAGE_CSS}`;
  const csp = [
    "default-src 'none'",
    `script-src '${sha256(script)}'`,
    `style-src '${sha256(style)}'`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const title = `synwatch report: ${report.capture.file}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeText(title)}</title>
<style>${style}</style>
</head>
<body>
<main id="app"><noscript>This report draws its charts with JavaScript; the data is in the JSON block of this file.</noscript></main>
<script type="application/json" id="report-data">${jsonForScript(report)}</script>
<script>${script}</script>
</body>
</html>
`;
}

/** JSON that is safe inside <script>: the characters the HTML parser or old JS engines react to, escaped. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}

function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;');
}
