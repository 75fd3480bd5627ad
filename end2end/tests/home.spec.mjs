// The home page renders on the server, hydrates from the wasm bundle, and then responds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, baseUrl, screenshotPath, signIn } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('home page hydrates and the theme switch works only afterwards', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await signIn(page, 'alice');

  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const section of ['Deployments', 'Packages', 'Sources', 'Audit', 'Admin']) {
    assert.equal(await nav.getByRole('link', { name: section, exact: true }).count(), 1, section);
  }
  assert.match(await page.getByTestId('version').innerText(), /^Pilothouse \d+\.\d+\.\d+/);
  assert.equal(await page.getByTestId('roles').innerText(), 'operator of team-a');
  assert.match(await page.getByTestId('cluster-banner').innerText(), /SIMULATED Flux controllers/);

  const toggle = page.getByTestId('theme-toggle');
  assert.equal(await toggle.innerText(), 'Dark theme');
  await toggle.click();
  await page.locator('html[data-theme="dark"]').waitFor();
  assert.equal(await toggle.innerText(), 'Light theme');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');

  await page.screenshot({ path: screenshotPath('home-dark'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('client-side navigation reaches each section', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'alice');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  await page.waitForURL(baseUrl + '/audit');
  assert.equal(await page.locator('h1').innerText(), 'Audit');
  // An operator may not read the audit log, and the page says why.
  assert.match(await page.getByRole('alert').innerText(), /needs auditor/);
  await page.screenshot({ path: screenshotPath('audit'), fullPage: true });
  await context.close();
});
