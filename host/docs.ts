/**
 * The API's docs page at `/api/docs`: Swagger UI, served from the host's own copy of
 * swagger-ui-dist (no CDN; the page's Content-Security-Policy allows scripts only from the host,
 * so the start script is a file, not inline).
 * @module
 */
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";

const require = createRequire(import.meta.url);

/** The docs page; it loads only the files below. */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>API docs</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<noscript><p>This page needs JavaScript to browse the API. Without it, read the OpenAPI 3.1
document itself: <a href="/api/openapi.json">/api/openapi.json</a>; every route is also listed in
the README's "The HTTP API".</p></noscript>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/start.js"></script>
</body>
</html>
`;

const START = `window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#docs" });\n`;

const FILES: Record<string, { type: string; read: () => Promise<string> }> = {
  "swagger-ui.css": { type: "text/css; charset=utf-8", read: () => vendored("swagger-ui.css") },
  "swagger-ui-bundle.js": {
    type: "text/javascript; charset=utf-8",
    read: () => vendored("swagger-ui-bundle.js"),
  },
  "start.js": { type: "text/javascript; charset=utf-8", read: () => Promise.resolve(START) },
};

function vendored(name: string): Promise<string> {
  return readFile(require.resolve(`swagger-ui-dist/${name}`), "utf8");
}

const cache = new Map<string, Promise<string>>();

/** One of the docs page's files with its content type, or undefined for any other name. */
export async function docsFile(name: string): Promise<{ type: string; text: string } | undefined> {
  if (!Object.hasOwn(FILES, name)) return undefined;
  const file = FILES[name];
  if (!cache.has(name)) cache.set(name, file.read());
  return { type: file.type, text: await cache.get(name)! };
}
