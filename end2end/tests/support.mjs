// Shared set-up for the specs: the server under test, Debian's Chromium, the output folder.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
export const outputDir = process.env.E2E_OUTPUT ?? new URL('../output', import.meta.url).pathname;

// Flags verified on these machines; the networking ones keep Chromium off the closed network.
export async function launch() {
  mkdirSync(outputDir, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

export function screenshotPath(name) {
  return join(outputDir, `${name}.png`);
}

export const passwords = {
  admin: process.env.ADMIN_PASSWORD,
  alice: process.env.ALICE_PASSWORD,
  carol: process.env.CAROL_PASSWORD,
  dave: process.env.DAVE_PASSWORD,
};

// Signs in through the demo identity provider's real login form and waits for hydration.
export async function signIn(page, login, path = '/') {
  await page.goto(baseUrl + path);
  await page.locator('input[name="login"]').waitFor();
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', passwords[login]);
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.href.startsWith(baseUrl));
  await hydrated(page);
}

// Waits until the page has hydrated; when it does not, says what the browser reported.
export async function hydrated(page) {
  const problems = [];
  const onError = (error) => problems.push(`page error: ${error.message}`);
  const onConsole = (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); };
  page.on('pageerror', onError);
  page.on('console', onConsole);
  try {
    // Generous: the first page after start-up instantiates the wasm bundle on a busy machine.
    await page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 60_000 });
  } catch (error) {
    await page.screenshot({ path: screenshotPath('not-hydrated'), fullPage: true }).catch(() => {});
    throw new Error(`${page.url()} did not hydrate: ${problems.join(' | ') || 'no error reported'} (${error.message})`);
  } finally {
    page.off('pageerror', onError);
    page.off('console', onConsole);
  }
}
