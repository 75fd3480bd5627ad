// Live pages: a change made directly in the cluster (as Flux or kubectl would make it) shows
// on an open list page and an open deployment page within two seconds, with no reload and
// no polling: the pages follow the server-sent event stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, hydrated, launch, screenshotPath, signIn } from './support.mjs';

const sandbox = process.env.SANDBOX_URL;
const sandboxToken = process.env.SANDBOX_TOKEN;
const id = 'default~team-b~Kustomization~analytics-db';

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  await suspend(false).catch(() => {});
  await browser?.close();
});

// Writes spec.suspend straight to the cluster, as the sandbox's administrator.
async function suspend(value) {
  const response = await fetch(
    `${sandbox}/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/team-b/kustomizations/analytics-db`,
    {
      method: 'PATCH',
      headers: { authorization: `Bearer ${sandboxToken}`, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { suspend: value } }),
    },
  );
  assert.equal(response.status, 200, await response.text());
}

test('a change in the cluster appears on open pages without a reload', async () => {
  assert.ok(sandbox && sandboxToken, 'the suite passes SANDBOX_URL and SANDBOX_TOKEN');
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
  const before = requests.length;

  await suspend(true);
  await row.locator('.badge.suspended').waitFor({ timeout: 2000 });
  await detail.getByTestId('status').locator('.badge.suspended').waitFor({ timeout: 2000 });
  for (const page of [list, detail]) {
    assert.equal(await page.evaluate(() => window.stillTheSamePage), true, 'no reload');
  }
  const fetched = requests.slice(before).filter((url) => !url.includes('/api/'));
  assert.deepEqual(fetched, [], 'only server-function calls after the change, no page loads');
  await list.screenshot({ path: screenshotPath('live-list'), fullPage: true });
  await detail.screenshot({ path: screenshotPath('live-detail'), fullPage: true });
  await list.getByTestId('theme-toggle').click();
  await list.locator('html[data-theme="dark"]').waitFor();
  await list.screenshot({ path: screenshotPath('live-list-dark'), fullPage: true });

  await suspend(false);
  await row.locator('.badge.suspended').waitFor({ state: 'detached', timeout: 2000 });
  await context.close();
});
