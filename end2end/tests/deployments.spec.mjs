// Deployments in the browser: alice (operator of team-a) lists, filters and pages her
// deployments, reconciles one and sees the outcome, and a refused create keeps what she typed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, launch, screenshotPath, signIn, darkTheme } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('list, filter, open, reconcile', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await signIn(page, 'alice', '/deployments');

  const rows = page.getByTestId('deployments-table').locator('tbody tr');
  await rows.first().waitFor();
  const namespaces = await rows.locator('td:nth-child(3)').allInnerTexts();
  assert.ok(namespaces.length > 0 && namespaces.every((ns) => ns === 'team-a'), namespaces.join(','));
  await page.screenshot({ path: screenshotPath('deployments'), fullPage: true });

  // Up to 1,000 rows a page.
  await page.selectOption('select[name="limit"]', '1000');
  await page.click('form[role="search"] button');
  await page.waitForURL(/limit=1000/);
  // The filter form submits natively: wait for the new page to hydrate before choosing again.
  await hydrated(page);
  assert.match(await page.getByTestId('deployment-count').innerText(), /^1–\d+ of \d+$/);
  await page.selectOption('select[name="limit"]', '25');

  await page.selectOption('select[name="status"]', 'failed');
  await page.click('form[role="search"] button');
  await page.waitForURL(/status=failed/);
  await page.getByTestId('deployments-table').locator('tbody tr').first().waitFor();
  const failed = await page.getByTestId('deployments-table').locator('tbody tr td:nth-child(5)').allInnerTexts();
  assert.ok(failed.length > 0 && failed.every((s) => s.startsWith('failed')), failed.join(','));

  await page.goto(page.url().replace(/\/deployments.*/, '/deployments/default~team-a~HelmRelease~podinfo'));
  await page.locator('.shell[data-hydrated="true"]').waitFor();
  await page.getByTestId('history').waitFor();
  assert.match(await page.getByTestId('status').innerText(), /deployed/);
  await page.getByRole('button', { name: 'Reconcile' }).click();
  // While it runs (the simulated controller takes a second a step), its steps are shown.
  const steps = page.getByTestId('reconcile-steps');
  await steps.waitFor();
  assert.match(await steps.innerText(), /Asked Flux to reconcile/);
  await page.screenshot({ path: screenshotPath('deployment-reconciling'), fullPage: true });
  const notice = page.getByTestId('notice');
  await notice.filter({ hasText: /^reconciled/ }).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: screenshotPath('deployment-reconciled'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a refused create says why and keeps the form', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'alice', '/deployments/new');
  const form = page.getByTestId('new-deployment');
  await form.locator('input[name="form[name]"]').fill('web');
  await form.locator('input[name="form[namespace]"]').fill('team-a');
  await form.locator('input[name="form[source]"]').fill('podinfo');
  await form.locator('textarea[name="form[values]"]').fill('replicaCount: 2');
  await form.getByRole('button', { name: 'Create' }).click();
  const error = page.getByTestId('form-error');
  await error.waitFor();
  assert.match(await error.innerText(), /flux\.chart extension is required for HelmRelease/);
  assert.equal(await form.locator('input[name="form[name]"]').inputValue(), 'web');
  assert.equal(await form.locator('textarea[name="form[values]"]').inputValue(), 'replicaCount: 2');

  await form.locator('input[name="form[chart]"]').fill('podinfo');
  await form.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/deployments\/default~team-a~HelmRelease~web$/);
  await page.getByTestId('status').waitFor();
  await page.screenshot({ path: screenshotPath('deployment-created'), fullPage: true });
  await context.close();
});

test('a Kustomization and a HelmRelease of one name are both reachable', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await signIn(page, 'alice', '/deployments/new');
  const form = page.getByTestId('new-deployment');
  await form.locator('input[name="form[name]"]').fill('podinfo');
  await form.locator('input[name="form[namespace]"]').fill('team-a');
  await form.locator('select[name="form[kind]"]').selectOption('kustomization');
  await form.locator('input[name="form[source]"]').fill('shop');
  await form.locator('input[name="form[source_kind]"]').fill('GitRepository');
  await form.locator('input[name="form[path]"]').fill('./podinfo');
  await form.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/deployments\/default~team-a~Kustomization~podinfo$/);
  await page.getByTestId('status').waitFor();
  assert.match(await page.locator('h1').innerText(), /Kustomization in team-a/);

  await page.goto(page.url().replace(/\/deployments.*/, '/deployments?text=podinfo'));
  await page.locator('.shell[data-hydrated="true"]').waitFor();
  // The text filter also finds rows whose source is called podinfo: keep the ones named so.
  const rows = page.getByTestId('deployments-table').locator('tbody tr')
    .filter({ has: page.getByRole('link', { name: 'podinfo', exact: true }) });
  await rows.filter({ hasText: 'Kustomization' }).waitFor();
  const kinds = (await rows.locator('td:nth-child(4)').allInnerTexts()).sort();
  assert.deepEqual(kinds, ['HelmRelease', 'Kustomization']);
  await page.screenshot({ path: screenshotPath('same-name-light'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('same-name-dark'), fullPage: true });

  for (const kind of ['Kustomization', 'HelmRelease']) {
    await rows.filter({ hasText: kind }).getByRole('link', { name: 'podinfo' }).click();
    await page.waitForURL(new RegExp(`/deployments/default~team-a~${kind}~podinfo$`));
    await page.getByTestId('status').waitFor();
    assert.match(await page.locator('h1').innerText(), new RegExp(`${kind} in team-a`));
    await page.screenshot({ path: screenshotPath(`same-name-${kind.toLowerCase()}`), fullPage: true });
    await page.goBack();
    await rows.filter({ hasText: kind }).waitFor();
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('a field another manager owns is taken over only by choice', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await signIn(page, 'alice', '/deployments/default~team-a~HelmRelease~podinfo');
  await page.getByTestId('status').waitFor();
  const scale = page.locator('form', { has: page.getByRole('button', { name: 'Scale' }) });
  await scale.locator('input[name="replicas"]').fill('4');
  await scale.getByRole('button', { name: 'Scale' }).click();
  const notice = page.getByTestId('notice');
  await notice.filter({ hasText: /take it over/ }).waitFor({ timeout: 30_000 });
  assert.match(await notice.innerText(), /spec\.values\.replicaCount/);
  assert.match(await notice.innerText(), /kustomize-controller applies this from Git/);
  await page.screenshot({ path: screenshotPath('field-conflict-light'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('field-conflict-dark'), fullPage: true });

  await scale.locator('input[name="force"]').check();
  await scale.locator('input[name="replicas"]').fill('4');
  await scale.getByRole('button', { name: 'Scale' }).click();
  await notice.filter({ hasText: /^Scaled/ }).waitFor({ timeout: 30_000 });
  await page.screenshot({ path: screenshotPath('field-taken-over'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});
