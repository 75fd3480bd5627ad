// The values editor and rollback from the history, on a Helm release run by the real helm:
// dave installs an uploaded chart with a values.schema.json, types values that are broken
// YAML (told the line and column), then values the schema rejects (told which key), then good
// ones; previews both diffs, applies, and rolls back from the history row after seeing what
// the rollback would change. The cluster's ConfigMap follows each step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { clusterRequest, darkTheme, launch, screenshotPath, signIn, tgz } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const chart = tgz([
  ['greet/Chart.yaml', 'apiVersion: v2\nname: greet\nversion: 1.0.0\n'],
  ['greet/values.yaml', 'greeting: hello\n'],
  ['greet/values.schema.json', JSON.stringify({
    type: 'object', required: ['greeting'], properties: { greeting: { type: 'string', maxLength: 40 } },
  })],
  ['greet/templates/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n'],
]);

async function greeting() {
  const got = await clusterRequest('GET', '/api/v1/namespaces/team-b/configmaps/greet');
  assert.equal(got.status, 200, got.body);
  return JSON.parse(got.body).data.greeting;
}

test('edit values with both diffs, apply, and roll back from the history', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'dave', '/packages');
  const upload = page.getByTestId('upload-form');
  await upload.locator('input[name="namespace"]').fill('team-b');
  await upload.locator('input[type="file"]').setInputFiles({ name: 'greet-1.0.0.tgz', mimeType: 'application/gzip', buffer: chart });
  await upload.getByRole('button', { name: 'Upload chart' }).click();
  await page.getByTestId('upload-notice').filter({ hasText: 'Uploaded greet-1.0.0.' }).waitFor();

  await page.goto(page.url().replace(/\/packages.*/, '/deployments/new'));
  await page.locator('.shell[data-hydrated="true"]').waitFor();
  const form = page.getByTestId('new-deployment');
  await form.locator('input[name="form[name]"]').fill('greet');
  await form.locator('input[name="form[namespace]"]').fill('team-b');
  await form.locator('input[name="form[package_id]"]').fill('greet-1.0.0');
  await form.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/deployments\/default~team-b~Release~greet$/, { timeout: 60_000 });
  await page.locator('.shell[data-hydrated="true"]').waitFor();
  assert.equal(await greeting(), 'hello');

  const editor = page.getByTestId('values-editor');
  const values = editor.getByLabel('Values (YAML)');
  await values.fill('greeting: [oops\nother: 1\n');
  const problems = editor.getByTestId('values-problems');
  await problems.waitFor();
  assert.match(await problems.innerText(), /line \d+, column \d+: /);
  await values.fill('greeting: 5\n');
  await problems.filter({ hasText: '/greeting' }).waitFor();
  assert.match(await problems.innerText(), /line 1, column 1: \/greeting: .*string/);
  await page.screenshot({ path: screenshotPath('values-invalid'), fullPage: true });

  await values.fill('greeting: bonjour\n');
  await editor.getByTestId('values-ok').waitFor();
  const apply = editor.getByRole('button', { name: 'Apply' });
  assert.equal(await apply.isDisabled(), true, 'Apply waits for a preview');
  await editor.getByRole('button', { name: 'Preview changes' }).click();
  const manifest = editor.getByTestId('manifest-diff');
  await manifest.waitFor({ timeout: 30_000 });
  assert.match(await editor.getByTestId('values-diff').innerText(), /^\+greeting: bonjour$/m);
  assert.match(await manifest.innerText(), /^-\s+greeting: "hello"$/m);
  assert.match(await manifest.innerText(), /^\+\s+greeting: "bonjour"$/m);
  await page.screenshot({ path: screenshotPath('values-preview'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('values-preview-dark'), fullPage: true });

  await apply.click();
  await editor.getByTestId('values-applied').filter({ hasText: 'revision 2' }).waitFor({ timeout: 60_000 });
  assert.equal(await greeting(), 'bonjour');
  const history = page.getByTestId('history');
  await history.locator('tr[data-revision="2"]').waitFor();

  // Roll back to 1: the confirmation shows what would change before anything does.
  await history.getByRole('button', { name: 'Roll back to revision 1' }).click();
  const confirm = page.getByTestId('rollback-confirm');
  const diff = confirm.getByTestId('rollback-diff');
  await diff.waitFor({ timeout: 30_000 });
  assert.match(await diff.innerText(), /^-\s+greeting: "bonjour"$/m);
  assert.match(await diff.innerText(), /^\+\s+greeting: "hello"$/m);
  assert.equal(await greeting(), 'bonjour', 'nothing changes before the confirmation');
  await page.screenshot({ path: screenshotPath('rollback-confirm-dark'), fullPage: true });
  await darkTheme(page, 'light');
  await page.screenshot({ path: screenshotPath('rollback-confirm'), fullPage: true });
  await confirm.getByRole('button', { name: 'Confirm rollback to 1' }).click();
  await history.locator('tr[data-revision="3"]').waitFor({ timeout: 60_000 });
  assert.equal(await greeting(), 'hello', 'the earlier values are back');
  await page.getByTestId('notice').waitFor();
  assert.equal(await values.inputValue(), '', 'the editor shows the restored (empty) user values');
  await context.close();
});

// A Flux HelmRelease: the preview fetches its chart from the HelmRepository as helm-controller
// would. The demo's repository is a public host; where it cannot be reached (these machines
// are offline), the preview says why and still shows the values diff.
test('preview a Flux HelmRelease: the values diff, and the manifest diff or why there is none', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'alice', '/deployments/default~team-a~HelmRelease~podinfo');
  await page.locator('.shell[data-hydrated="true"]').waitFor();
  const editor = page.getByTestId('values-editor');
  // Other walks scale podinfo on the same server: whatever it runs with, 7 differs.
  await editor.getByLabel('Values (YAML)').fill('replicaCount: 7\n');
  await editor.getByTestId('values-ok').waitFor();
  await editor.getByRole('button', { name: 'Preview changes' }).click();
  const valuesDiff = editor.getByTestId('values-diff');
  await valuesDiff.waitFor({ timeout: 60_000 });
  assert.match(await valuesDiff.innerText(), /^-replicaCount: \d+$/m);
  assert.match(await valuesDiff.innerText(), /^\+replicaCount: 7$/m);
  const rendered = editor.getByTestId('manifest-diff').or(editor.getByTestId('preview-note'));
  await rendered.first().waitFor();
  if (await editor.getByTestId('preview-note').count()) {
    assert.match(await editor.getByTestId('preview-note').innerText(),
      /Only the values diff is shown: .*stefanprodan\.github\.io/);
  }
  await page.screenshot({ path: screenshotPath('values-flux-preview'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('values-flux-preview-dark'), fullPage: true });
  await context.close();
});
