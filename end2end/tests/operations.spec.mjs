// Long changes as tracked operations, in the browser: dave installs an uploaded chart whose
// Deployment never becomes ready (no kubelet runs pods in the sandbox) from the new-deployment
// form. The form answers with the operation, whose steps arrive live and name the workload
// helm waits for. He leaves for the deployments list, finds the operation again from the
// header's indicator, and cancels it: helm stops and undoes the install, and the page says
// what happened and what to do. A quick install then ends in time and opens its deployment;
// its operation, listed as succeeded, links to it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, clusterRequest, darkTheme, hydrated, launch, screenshotPath, signIn, tgz } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const stuck = tgz([
  ['stuck/Chart.yaml', 'apiVersion: v2\nname: stuck\nversion: 1.0.0\n'],
  ['stuck/templates/web.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: { app: stuck }\n  template:\n    metadata:\n      labels: { app: stuck }\n    spec:\n      containers:\n        - name: web\n          image: registry.example/web:1\n'],
]);
const quick = tgz([
  ['hello/Chart.yaml', 'apiVersion: v2\nname: hello\nversion: 1.0.0\n'],
  ['hello/templates/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  hello: world\n'],
]);

async function upload(page, file, buffer) {
  const form = page.getByTestId('upload-form');
  await form.locator('input[name="namespace"]').fill('team-b');
  await form.locator('input[type="file"]').setInputFiles({ name: file, mimeType: 'application/gzip', buffer });
  await form.getByRole('button', { name: 'Upload chart' }).click();
  await page.getByTestId('upload-notice').filter({ hasText: `Uploaded ${file.replace('.tgz', '')}.` }).waitFor();
}

async function create(page, name, packageId) {
  await page.goto(`${baseUrl}/deployments/new`);
  await hydrated(page);
  const form = page.getByTestId('new-deployment');
  await form.locator('input[name="form[name]"]').fill(name);
  await form.locator('input[name="form[namespace]"]').fill('team-b');
  await form.locator('input[name="form[package_id]"]').fill(packageId);
  await form.getByRole('button', { name: 'Create' }).click();
}

test('install from the form, watch the steps, leave, come back and cancel; a quick one opens its deployment', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'dave', '/packages');
  await upload(page, 'stuck-1.0.0.tgz', stuck);
  await upload(page, 'hello-1.0.0.tgz', quick);

  // The install outlasts the form's short wait: the form answers with the operation.
  await create(page, 'stuck', 'stuck-1.0.0');
  await page.waitForURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  const operationUrl = page.url();
  await hydrated(page);
  const steps = page.getByTestId('operation-steps');
  await steps.filter({ hasText: 'waiting for Deployment team-b/stuck (0/1 ready)' }).waitFor({ timeout: 30_000 });
  assert.match(await steps.innerText(), /helm install: applying the chart's objects/);
  assert.equal(await page.getByTestId('operation-state').innerText(), 'running');
  await page.screenshot({ path: screenshotPath('operation-running'), fullPage: true });

  // Away from it, the header says it runs, and leads back to it.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deployments' }).click();
  await page.waitForURL(/\/deployments$/);
  const indicator = page.getByTestId('operations-indicator');
  await indicator.filter({ hasText: '1 running' }).waitFor({ timeout: 15_000 });
  await page.screenshot({ path: screenshotPath('operations-indicator'), fullPage: false });
  await indicator.click();
  await page.waitForURL(/\/operations\?mine=true$/);
  const rows = page.getByTestId('operations');
  const row = rows.locator('tr', { hasText: 'team-b/stuck' }).first();
  await row.getByText('running').waitFor();
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('operations-list-dark'), fullPage: true });
  await darkTheme(page, 'light');
  await row.getByRole('link', { name: 'deployment.create' }).click();
  await page.waitForURL(operationUrl);
  await steps.filter({ hasText: 'waiting for Deployment team-b/stuck' }).waitFor();

  // Cancel: helm stops and rolls the install back; the page says so and what to do.
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByTestId('operation-state').filter({ hasText: 'cancelled' }).waitFor({ timeout: 90_000 });
  const error = page.getByTestId('operation-error');
  assert.match(await error.innerText(), /Run the change again when you are ready/);
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('operation-cancelled-dark'), fullPage: true });
  await darkTheme(page, 'light');
  await page.screenshot({ path: screenshotPath('operation-cancelled'), fullPage: true });
  const release = await clusterRequest('GET', '/api/v1/namespaces/team-b/secrets?labelSelector=owner%3Dhelm%2Cname%3Dstuck');
  assert.equal(JSON.parse(release.body).items.length, 0, 'helm removed the cancelled install');
  await indicator.filter({ hasNotText: 'running' }).waitFor();

  // A quick install ends within the form's wait and opens its deployment.
  await create(page, 'hello', 'hello-1.0.0');
  await page.waitForURL(/\/deployments\/default~team-b~Release~hello$/, { timeout: 60_000 });
  await hydrated(page);
  await page.goto(`${baseUrl}/operations?mine=true`);
  await hydrated(page);
  const done = rows.locator('tr', { hasText: 'team-b/hello' }).first();
  await done.getByText('succeeded').waitFor();
  await done.getByRole('link', { name: 'deployment.create' }).click();
  await page.getByTestId('operation-deployment').filter({ hasText: 'Open hello' }).waitFor();
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('operation-succeeded-dark'), fullPage: true });
  await darkTheme(page, 'light');
  await page.screenshot({ path: screenshotPath('operation-succeeded'), fullPage: true });
  await page.getByTestId('operation-deployment').click();
  await page.waitForURL(/\/deployments\/default~team-b~Release~hello$/);
  await context.close();
});
