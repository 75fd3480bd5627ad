// Live pages: a change made directly in the cluster (as Flux or kubectl would make it) shows
// on an open list page and an open deployment page within two seconds, with no reload and
// no polling: the pages follow the server-sent event stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseUrl, clusterRequest, createKustomization, hydrated, launch, sandbox, screenshotPath, signIn, darkTheme,} from './support.mjs';

const id = 'default~team-b~Kustomization~analytics-db';

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  await suspend(false).catch(() => {});
  await browser?.close();
});

// Writes spec.suspend straight to the cluster, as the sandbox's administrator.
async function suspend(value) {
  const patched = await clusterRequest(
    'PATCH', '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/team-b/kustomizations/analytics-db',
    { spec: { suspend: value } }, 'application/merge-patch+json',
  );
  assert.equal(patched.status, 200, patched.body);
}

test('a change in the cluster appears on open pages without a reload', async () => {
  assert.ok(sandbox.url && sandbox.token, 'the suite passes SANDBOX_URL and SANDBOX_TOKEN');
  const context = await browser.newContext();
  const list = await context.newPage();
  const requests = [];
  list.on('request', (request) => requests.push(request.url()));
  await signIn(list, 'admin', '/deployments?namespace=team-b');
  const row = list.getByTestId('deployments-table').locator('tbody tr', { hasText: 'analytics-db' });
  await row.waitFor();
  assert.equal(await row.locator('.badge.suspended').count(), 0, 'not suspended at the start');
  const detail = await context.newPage();
  await detail.goto(`${baseUrl}/deployments/${id}`);
  await hydrated(detail);
  for (const page of [list, detail]) await page.evaluate(() => { window.stillTheSamePage = true; });
  // A row the change does not touch is kept as it is, not drawn again.
  const untouched = list.locator('tr[data-id="default~team-b~Kustomization~analytics"]');
  await untouched.evaluate((row) => { row.keptAcrossChanges = true; });
  const before = requests.length;

  await suspend(true);
  await row.locator('.badge.suspended').waitFor({ timeout: 2000 });
  await detail.getByTestId('status').locator('.badge.suspended').waitFor({ timeout: 2000 });
  // The operations follow too: the suspended object offers Resume.
  await detail.getByRole('button', { name: 'Resume' }).waitFor({ timeout: 2000 });
  for (const page of [list, detail]) {
    assert.equal(await page.evaluate(() => window.stillTheSamePage), true, 'no reload');
  }
  assert.equal(await untouched.evaluate((row) => row.keptAcrossChanges), true, 'only the changed row is redrawn');
  const fetched = requests.slice(before).filter((url) => !url.includes('/api/'));
  assert.deepEqual(fetched, [], 'only server-function calls after the change, no page loads');
  await list.screenshot({ path: screenshotPath('live-list'), fullPage: true });
  await detail.screenshot({ path: screenshotPath('live-detail'), fullPage: true });
  await darkTheme(list);
  await list.screenshot({ path: screenshotPath('live-list-dark'), fullPage: true });

  await suspend(false);
  await row.locator('.badge.suspended').waitFor({ state: 'detached', timeout: 2000 });
  await context.close();
});

test('a new object appears live; suspend shows its reason; delete needs the typed name', async () => {
  const context = await browser.newContext();
  const list = await context.newPage();
  await signIn(list, 'admin', '/deployments?namespace=team-b');
  await list.getByTestId('deployments-table').waitFor();
  await createKustomization('team-b', 'scratch', 'analytics');
  const row = list.getByTestId('deployments-table').locator('tbody tr', { hasText: 'scratch' });
  await row.waitFor({ timeout: 2000 });

  await row.getByRole('link', { name: 'scratch' }).click();
  await list.waitForURL(/default~team-b~Kustomization~scratch$/);
  await hydrated(list);
  await list.getByLabel('Suspend reason').fill('database migration until 14:00');
  await list.getByRole('button', { name: 'Suspend' }).click();
  const reason = list.getByTestId('suspend-reason');
  await reason.waitFor().catch(async (error) => {
    await list.screenshot({ path: screenshotPath('suspend-reason-missing'), fullPage: true });
    throw error;
  });
  assert.match(await reason.innerText(), /Suspended: database migration until 14:00/);

  const confirm = list.getByLabel("Type the deployment's name to confirm the delete");
  const remove = list.getByRole('button', { name: 'Delete' });
  assert.equal(await remove.isDisabled(), true, 'disabled until the name is typed');
  await confirm.fill('scratc');
  assert.equal(await remove.isDisabled(), true, 'a near miss keeps it disabled');
  await confirm.fill('scratch');
  await list.screenshot({ path: screenshotPath('delete-confirm'), fullPage: true });
  await darkTheme(list);
  await list.screenshot({ path: screenshotPath('delete-confirm-dark'), fullPage: true });
  await remove.click();
  await list.waitForURL((url) => url.pathname === '/deployments');
  await list.getByTestId('deployments-table').waitFor();
  assert.equal(
    await list.getByTestId('deployments-table').locator('tbody tr', { hasText: 'scratch' }).count(), 0,
    'gone from the list',
  );
  await context.close();
});
