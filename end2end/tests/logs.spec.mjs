// A Flux deployment's page beyond its status: the inventory as a tree with each object's
// health (read from the cluster), the timeline of revisions, operations and reconciles, and
// the controller's log lines about it, followed live while a reconcile happens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { clusterRequest, darkTheme, launch, screenshotPath, signIn } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const id = 'default~platform~Kustomization~infrastructure';

test('inventory health, timeline and followed controller logs', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'admin', `/deployments/${id}`);

  const inventory = page.getByTestId('inventory');
  await inventory.waitFor();
  assert.match(await inventory.innerText(), /Deployment\.apps \(1\)/);
  const workload = inventory.locator('li[data-object="Deployment/infrastructure"]');
  assert.match(await workload.innerText(), /platform\/infrastructure\s+Healthy\s+1\/1 ready/);

  const timeline = page.getByTestId('timeline');
  await timeline.waitFor();
  assert.ok(await timeline.locator('li[data-moment="reconcile"]').count() > 0, 'reconcile outcomes are on it');

  const logs = page.getByTestId('controller-logs');
  await logs.getByRole('button', { name: 'Follow' }).click();
  const lines = logs.getByTestId('logs');
  await lines.waitFor();
  const before = (await lines.innerText()).split('\n').filter(Boolean).length;
  assert.ok(before > 0);
  assert.doesNotMatch(await lines.innerText(), /analytics|shop/, 'only lines about this object');

  // A reconcile asked for straight in the cluster: its lines arrive with no reload.
  const patched = await clusterRequest(
    'PATCH', '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/platform/kustomizations/infrastructure',
    { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
    'application/merge-patch+json',
  );
  assert.equal(patched.status, 200, patched.body);
  await page.waitForFunction(
    ([count]) => document.querySelector('[data-testid="logs"]').innerText.split('\n').filter(Boolean).length > count,
    [before], { timeout: 15_000 },
  );
  assert.match(await lines.innerText(), /Reconciliation in progress/);
  await page.screenshot({ path: screenshotPath('deployment-logs'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('deployment-logs-dark'), fullPage: true });
  await logs.getByRole('button', { name: 'Stop following' }).click();
  await context.close();
});
