// Packages in the browser: dave (admin of team-b) uploads a chart archive through the form,
// sees it listed and installs it as a Helm release, and a hostile archive is refused with
// the reason while the namespace he typed stays in the form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshotPath, signIn, tgz } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('upload a chart, and a hostile one is refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'dave', '/packages');
  const form = page.getByTestId('upload-form');

  await form.locator('input[name="namespace"]').fill('team-b');
  await form.locator('input[type="file"]').setInputFiles({
    name: 'evil.tgz', mimeType: 'application/gzip',
    buffer: tgz([['evil/../../etc/cron.d/x', 'boom'], ['evil/Chart.yaml', 'apiVersion: v2\nname: evil\nversion: 1.0.0\n']]),
  });
  await form.getByRole('button', { name: 'Upload chart' }).click();
  const refused = page.getByTestId('upload-error');
  await refused.waitFor();
  assert.match(await refused.innerText(), /leaves the chart directory/);
  assert.equal(await page.getByTestId('upload-form').locator('input[name="namespace"]').inputValue(), 'team-b');

  await page.getByTestId('upload-form').locator('input[type="file"]').setInputFiles({
    name: 'web-1.2.0.tgz', mimeType: 'application/gzip',
    buffer: tgz([['web/Chart.yaml', 'apiVersion: v2\nname: web\nversion: 1.2.0\nappVersion: "1.2"\n'],
      ['web/templates/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n']]),
  });
  await page.getByTestId('upload-form').getByRole('button', { name: 'Upload chart' }).click();
  await page.getByTestId('upload-notice').filter({ hasText: 'Uploaded web-1.2.0.' }).waitFor();
  await page.locator('.shell[data-hydrated="true"]').waitFor();
  const rows = page.getByTestId('packages-table').locator('tbody tr');
  // Other walks on the same server upload charts to team-b too: find this one's row.
  const uploaded = rows.filter({ hasText: 'web-1.2.0' }).first();
  await uploaded.waitFor();
  assert.match(await uploaded.innerText(), /team-b/);
  await page.getByTestId('repositories-table').waitFor();
  await page.screenshot({ path: screenshotPath('packages'), fullPage: true });

  // Install it as a Helm release from the new-deployment form; the real helm does the work.
  await page.goto(page.url().replace(/\/packages.*/, '/deployments/new'));
  await page.locator('.shell[data-hydrated="true"]').waitFor();
  const form2 = page.getByTestId('new-deployment');
  await form2.locator('input[name="form[name]"]').fill('web');
  await form2.locator('input[name="form[namespace]"]').fill('team-b');
  await form2.locator('input[name="form[package_id]"]').fill('web-1.2.0');
  await form2.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/deployments\/default~team-b~Release~web$/, { timeout: 60_000 });
  await page.getByTestId('status').filter({ hasText: 'deployed' }).waitFor();
  assert.match(await page.getByTestId('history').innerText(), /1\s+deployed\s+1\.2\.0/);
  await page.screenshot({ path: screenshotPath('helm-release'), fullPage: true });
  await context.close();
});
