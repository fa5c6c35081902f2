// Print what pdf.js (the engine of browser PDF viewers) extracts from a PDF, as JSON:
//   {"version": "4.10.38", "pages": [{"text": "...", "items": [{"str", "x", "y", "width", "height", "hasEOL"}]}]}
// "text" joins the items as a viewer's copy does: items as they are, a newline after hasEOL.
// Usage: node tests/pdfjs_extract.mjs FILE.pdf
// pdfjs-dist is found in $SOHOA_PDFJS_DIR, else .venv/node/node_modules/pdfjs-dist.
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.env.SOHOA_PDFJS_DIR || resolve(here, "..", ".venv", "node", "node_modules", "pdfjs-dist");
const file = process.argv[2];
if (!file) {
  console.error("usage: node pdfjs_extract.mjs FILE.pdf");
  process.exit(2);
}
// pdf.js warns on stdout (console.log) about the canvas it needs only to render: keep
// stdout for the JSON.
console.log = (...args) => console.error(...args);
const pdfjs = await import(pathToFileURL(join(dir, "legacy", "build", "pdf.mjs")).href);
pdfjs.GlobalWorkerOptions.workerSrc = pathToFileURL(join(dir, "legacy", "build", "pdf.worker.mjs")).href;

const data = new Uint8Array(await readFile(file));
const doc = await pdfjs.getDocument({ data, isEvalSupported: false, useSystemFonts: false,
  disableFontFace: true, verbosity: 0 }).promise;
const pages = [];
for (let n = 1; n <= doc.numPages; n++) {
  const page = await doc.getPage(n);
  const content = await page.getTextContent();
  const items = content.items.filter((it) => "str" in it).map((it) => ({
    str: it.str, x: it.transform[4], y: it.transform[5], width: it.width, height: it.height,
    hasEOL: it.hasEOL }));
  const text = items.map((it) => it.str + (it.hasEOL ? "\n" : "")).join("");
  pages.push({ text, items });
  page.cleanup();
}
await doc.destroy();
process.stdout.write(JSON.stringify({ version: pdfjs.version, pages }) + "\n");
