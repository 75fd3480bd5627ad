// The home page renders on the server, hydrates from the wasm bundle, and then responds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, baseUrl, screenshotPath } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('home page hydrates and the theme switch works only afterwards', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));

  const response = await page.goto(baseUrl + '/');
  assert.equal(response.status(), 200);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const section of ['Deployments', 'Packages', 'Sources', 'Audit', 'Admin']) {
    assert.equal(await nav.getByRole('link', { name: section, exact: true }).count(), 1, section);
  }
  assert.match(await page.getByTestId('version').innerText(), /^Pilothouse \d+\.\d+\.\d+/);

  // The server renders data-hydrated="false"; only the wasm bundle flips it.
  await page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });

  const toggle = page.getByTestId('theme-toggle');
  assert.equal(await toggle.innerText(), 'Dark theme');
  await toggle.click();
  await page.locator('html[data-theme="dark"]').waitFor();
  assert.equal(await toggle.innerText(), 'Light theme');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');

  await page.screenshot({ path: screenshotPath('home-dark'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('client-side navigation reaches each section', async () => {
  const page = await browser.newPage();
  await page.goto(baseUrl + '/');
  await page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  await page.waitForURL(baseUrl + '/audit');
  assert.equal(await page.locator('h1').innerText(), 'Audit');
  await page.screenshot({ path: screenshotPath('audit'), fullPage: true });
});
