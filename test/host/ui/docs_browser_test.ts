/** The API docs page in a real browser: Swagger UI renders the document under the host's CSP. */
import { deepStrictEqual, equal } from "node:assert/strict";
import { chromium } from "playwright-core";
import { CHROMIUM, ensureChromium } from "../../prepare.ts";
import { testHost } from "../_host.ts";

Deno.test("/api/docs renders every operation in chromium, loading nothing from elsewhere and breaking no CSP", async () => {
  const t = await testHost({ install: false });
  const stop = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen: () => {} },
    t.host.app.fetch,
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  await ensureChromium();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    const problems: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) elsewhere.push(r.url());
    });
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(`${origin}/api/docs`);
    await page.waitForSelector(".opblock", { timeout: 20_000 });
    const document = await (await t.host.app.request("/api/openapi.json")).json();
    const operations = Object.values(document.paths as Record<string, object>)
      .reduce((n: number, ops) => n + Object.keys(ops).length, 0);
    equal(await page.locator(".opblock").count(), operations);
    deepStrictEqual(elsewhere, []);
    deepStrictEqual(problems, []);
  } finally {
    await browser.close();
    stop.abort();
    await server.finished;
    await t.close();
  }
});
