// The home page renders on the server, hydrates from the wasm bundle, and then responds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, baseUrl, screenshotPath, signIn, darkTheme, hydrated } from './support.mjs';

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

  // The overview: alice's tenant with its failing release first among what needs attention.
  const tile = page.getByTestId('tenant-counts').locator('.tile[data-tenant="team-a"]');
  assert.match(await tile.innerText(), /[1-9]\d* failed/);
  assert.match(await page.getByTestId('attention').locator('tbody tr').first().innerText(), /payments\s+team-a/);
  assert.match(await page.getByTestId('recent').innerText(), /The latest of your own operations/);
  assert.match(await page.getByTestId('adapters').innerText(), /flux\s+synced/);
  await page.screenshot({ path: screenshotPath('overview'), fullPage: true });

  // The colours follow the operating system until the menu overrides them, per browser.
  const toggle = page.getByTestId('theme-toggle');
  assert.equal(await toggle.inputValue(), 'system');
  assert.equal(await page.locator('html').getAttribute('data-theme'), null);
  await darkTheme(page);
  await toggle.selectOption('light');
  await page.locator('html[data-theme="light"]').waitFor();
  await page.reload();
  await hydrated(page);
  // Remembered, and rendered by the server already: no flash of the other colours.
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
  assert.equal(await page.getByTestId('theme-toggle').inputValue(), 'light');
  await page.getByTestId('theme-toggle').selectOption('system');
  await darkTheme(page);
  assert.equal(await page.locator('html').getAttribute('data-theme'), null);
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

test('an auditor sees the latest operations of everyone', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'carol');
  const recent = page.getByTestId('recent');
  assert.match(await recent.innerText(), /The latest of every operation/);
  // The demo seed's own grants are on record, made by admin through the command line.
  await recent.locator('tbody tr').first().waitFor();
  assert.ok(await recent.locator('tbody tr').count() >= 1);
  // One row per operation, with its outcome (or running), never its intent beside it.
  const operations = await recent.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.operation));
  assert.equal(new Set(operations).size, operations.length, `each operation once: ${operations}`);
  assert.doesNotMatch(await recent.innerText(), /\bintent\b|\bpending\b/);
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('overview-auditor-dark'), fullPage: true });
  await context.close();
});
