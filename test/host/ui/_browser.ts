/** Real Chromium for the UI tests (Debian's, driven by playwright-core), and logging in. */
import { equal } from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { CHROMIUM, ensureChromium } from "../../prepare.ts";

/** Starts headless Chromium, installing Debian's package first when it is missing. */
export async function launch(): Promise<Browser> {
  await ensureChromium();
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Logs in with the admin token through the login form; ends on the dashboard. */
export async function login(page: Page, hostUrl: string, token: string): Promise<void> {
  await page.goto(`${hostUrl}/`);
  equal(new URL(page.url()).pathname, "/login");
  await page.fill("#token", token);
  await page.click("form[action='/login'] button");
  equal(new URL(page.url()).pathname, "/");
}
