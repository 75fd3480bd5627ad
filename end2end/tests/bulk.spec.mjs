// Bulk actions on the deployments list: dave (admin of team-b, viewer of team-a) selects
// three deployments, one of them in team-a, and suspends them with a reason. The
// confirmation names the count and the namespaces; the results say two done and one
// refused with the policy's reason; the cluster shows exactly the two suspended.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  clusterRequest, createKustomization, darkTheme, deleteKustomization, launch, screenshotPath, signIn,
} from './support.mjs';

const rows = [['team-b', 'bulk-one', 'analytics'], ['team-b', 'bulk-two', 'analytics'], ['team-a', 'bulk-three', 'shop']];

let browser;
before(async () => {
  browser = await launch();
  for (const [namespace, name, source] of rows) await createKustomization(namespace, name, source);
});
after(async () => {
  for (const [namespace, name] of rows) await deleteKustomization(namespace, name).catch(() => {});
  await browser?.close();
});

async function suspended(namespace, name) {
  const got = await clusterRequest('GET', `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations/${name}`);
  assert.equal(got.status, 200, got.body);
  const object = JSON.parse(got.body);
  return { suspend: object.spec.suspend === true, reason: object.metadata.annotations?.['pilothouse.dev/suspend-reason'] };
}

test('bulk suspend of three deployments reports two done and one refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'dave', '/deployments?text=bulk-');
  const table = page.getByTestId('deployments-table');
  for (const [namespace, name] of rows) {
    await table.getByLabel(`Select ${name} in ${namespace}`).check();
  }
  assert.equal(await page.getByTestId('bulk-count').innerText(), '3 selected');
  await page.getByLabel('Reason for suspending the selected').fill('freeze for the audit');
  await page.getByTestId('bulk-bar').getByRole('button', { name: 'Suspend' }).click();
  const confirm = page.getByTestId('bulk-confirm');
  assert.match(await confirm.innerText(), /Suspend 3 deployments in team-a, team-b\? Reason: freeze for the audit\./);
  await page.screenshot({ path: screenshotPath('bulk-confirm'), fullPage: true });
  await confirm.getByRole('button', { name: 'Confirm' }).click();

  const summary = page.getByTestId('bulk-summary');
  await summary.waitFor({ timeout: 20_000 });
  assert.equal(await summary.innerText(), '2 done, 1 refused');
  const results = page.getByTestId('bulk-results');
  const refused = results.locator('tr[data-outcome="refused"]');
  assert.match(await refused.innerText(), /bulk-three\s+team-a\s+refused/);
  assert.match(await refused.innerText(), /viewer|operator/, 'the refusal says which role is missing');
  assert.equal(await results.locator('tr[data-outcome="done"]').count(), 2);

  assert.deepEqual(await suspended('team-b', 'bulk-one'), { suspend: true, reason: 'freeze for the audit' });
  assert.deepEqual(await suspended('team-b', 'bulk-two'), { suspend: true, reason: 'freeze for the audit' });
  assert.deepEqual(await suspended('team-a', 'bulk-three'), { suspend: false, reason: undefined });
  // The list follows the change on its own.
  await table.locator('tbody tr', { hasText: 'bulk-one' }).locator('.badge.suspended').waitFor({ timeout: 5000 });
  await page.screenshot({ path: screenshotPath('bulk-results'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('bulk-results-dark'), fullPage: true });

  // Keyboard: the row checkboxes and the bar's buttons are reachable with Tab.
  await page.getByLabel('Select every row on this page').focus();
  await page.keyboard.press('Space');
  assert.equal(await page.getByTestId('bulk-count').innerText(), '0 selected');
  await context.close();
});
