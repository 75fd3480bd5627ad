// The Flux toolkit beside the deployments, as alice (operator of team-a) and the platform-admin
// see it: an image policy's latest tag and the release that runs its image; an alert created
// for her release, suspended and deleted; a Git source created (after a refused form that
// kept what she typed); a source's artifact, users and a fetch; and Admin → Flux, the
// installation as `flux check` reports it. Each page in both themes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, darkTheme, hydrated, launch, screenshotPath, signIn } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/// Both themes of the page as it stands.
async function shoot(page, name) {
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath(`${name}-dark`), fullPage: true });
  await darkTheme(page, 'light');
}

test('an image policy shows its latest tag and the deployments that run the image', async () => {
  const page = await (await browser.newContext()).newPage();
  try {
    await signIn(page, 'alice', '/images');
    const row = page.locator('[data-testid="toolkit-table"] tr[data-kind="ImagePolicy"][data-name="podinfo"]');
    await row.waitFor();
    assert.match(await row.innerText(), /registry\.example\/podinfo:6\.8\.0/);
    assert.match(await row.innerText(), /semver >=6\.7\.0 <7\.0\.0/);
    await shoot(page, 'images');
    await row.getByRole('link', { name: 'podinfo' }).click();
    await page.waitForURL(`${baseUrl}/images/team-a/ImagePolicy/podinfo`);
    const users = page.getByTestId('used-by');
    await users.waitFor();
    assert.match(await users.innerText(), /podinfo\s+HelmRelease\s+team-a/);
    assert.match(await users.innerText(), /Deployment podinfo runs registry\.example\/podinfo/);
    assert.match(await page.getByTestId('facts').innerText(), /Digest/);
    await shoot(page, 'image-policy');
  } finally {
    await page.context().close();
  }
});

test('alice creates an alert for her release, suspends it and deletes it', async () => {
  const page = await (await browser.newContext()).newPage();
  try {
    await signIn(page, 'alice', '/notifications');
    const provider = page.locator('tr[data-kind="Provider"][data-name="slack"]');
    await provider.waitFor();
    assert.match(await provider.innerText(), /https:\/\/hooks\.slack\.com/);
    assert.doesNotMatch(await page.content(), /demo-token/, 'the webhook token is never shown');
    await shoot(page, 'notifications');

    await page.getByTestId('new-object').click();
    await page.waitForURL(`${baseUrl}/notifications/new`);
    const form = page.getByTestId('new-alert');
    await form.locator('input[name="form[name]"]').fill('podinfo-errors');
    await form.locator('input[name="form[namespace]"]').fill('team-a');
    await form.locator('input[name="form[provider]"]').fill('slack');
    await form.locator('select[name="form[severity]"]').selectOption('error');
    await form.locator('textarea[name="form[sources]"]').fill('HelmRelease/podinfo');
    await shoot(page, 'alert-new');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(`${baseUrl}/notifications/team-a/Alert/podinfo-errors`);
    const users = page.getByTestId('used-by');
    await users.waitFor();
    assert.match(await users.innerText(), /podinfo\s+HelmRelease\s+team-a\s+reported on/);
    assert.equal(await page.getByRole('button', { name: 'Reconcile' }).count(), 0, 'alerts are not reconciled on request');
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByTestId('notice').filter({ hasText: 'Done.' }).waitFor();
    await page.getByTestId('status').filter({ hasText: 'suspended' }).waitFor();
    await shoot(page, 'alert-suspended');
    await page.getByTestId('delete').locator('summary').click();
    await page.getByRole('button', { name: 'Delete Alert podinfo-errors' }).click();
    await page.waitForURL(`${baseUrl}/notifications`);
    await page.locator('tr[data-kind="Alert"][data-name="failures"]').waitFor();
    assert.equal(await page.locator('tr[data-name="podinfo-errors"]').count(), 0);
  } finally {
    await page.context().close();
  }
});

test('alice creates a Git source; a refused form keeps what she typed', async () => {
  const page = await (await browser.newContext()).newPage();
  try {
    await signIn(page, 'alice', '/sources/new');
    const form = page.getByTestId('new-source');
    await form.locator('input[name="form[name]"]').fill('docs');
    await form.locator('input[name="form[namespace]"]').fill('team-a');
    await form.locator('input[name="form[url]"]').fill('file:///etc/passwd');
    await form.locator('input[name="form[branch]"]').fill('main');
    await form.getByRole('button', { name: 'Create' }).click();
    const error = page.getByTestId('form-error');
    await error.waitFor();
    assert.match(await error.innerText(), /url/);
    assert.equal(await form.locator('input[name="form[name]"]').inputValue(), 'docs', 'nothing typed is lost');
    await shoot(page, 'source-new-refused');
    await form.locator('input[name="form[url]"]').fill('https://github.com/acme/docs');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(`${baseUrl}/sources/team-a/GitRepository/docs`);
    // The simulated source-controller fetches within moments; the page follows the live
    // stream and shows the artifact without a reload.
    const artifact = page.getByTestId('artifact');
    await artifact.waitFor({ timeout: 60_000 });
    assert.match(await artifact.innerText(), /main@sha1:/);
    await page.getByTestId('delete').locator('summary').click();
    await page.getByRole('button', { name: 'Delete GitRepository docs' }).click();
    await page.waitForURL(`${baseUrl}/sources`);
  } finally {
    await page.context().close();
  }
});

test('a source shows its artifact and users, and fetches on request', async () => {
  const page = await (await browser.newContext()).newPage();
  try {
    await signIn(page, 'alice', '/sources/team-a/GitRepository/shop');
    const artifact = page.getByTestId('artifact');
    await artifact.waitFor();
    assert.match(await artifact.innerText(), /main@sha1:/);
    assert.match(await page.getByTestId('used-by').innerText(), /shop\s+Kustomization/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('download-artifact').click(),
    ]);
    assert.equal(download.suggestedFilename(), 'gitrepository-team-a-shop.tar.gz');
    await page.getByRole('button', { name: 'Reconcile' }).click();
    await page.getByTestId('notice').filter({ hasText: /fetched/ }).waitFor({ timeout: 60_000 });
    await shoot(page, 'source-detail');
    await page.goto(`${baseUrl}/sources?kind=GitRepository`);
    await hydrated(page);
    const rows = page.locator('[data-testid="toolkit-table"] tbody tr');
    await rows.first().waitFor();
    for (const kind of await rows.evaluateAll((all) => all.map((r) => r.dataset.kind))) {
      assert.equal(kind, 'GitRepository');
    }
  } finally {
    await page.context().close();
  }
});

test('Admin → Flux shows the controllers, the CRDs and what is stuck', async () => {
  const page = await (await browser.newContext()).newPage();
  try {
    await signIn(page, 'admin', '/admin');
    await page.getByTestId('flux-check-link').click();
    await page.waitForURL(`${baseUrl}/admin/flux`);
    const controllers = page.getByTestId('flux-controllers');
    await controllers.waitFor();
    for (const name of ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller',
      'image-reflector-controller', 'image-automation-controller']) {
      assert.match(await controllers.locator(`tr[data-controller="${name}"]`).innerText(), /1\/1\s+simulated/);
    }
    const crds = page.getByTestId('flux-crds');
    assert.equal(await crds.locator('tbody tr').count(), 14);
    assert.match(await crds.locator('tr[data-crd="alerts.notification.toolkit.fluxcd.io"]').innerText(), /v1beta3\s+v1beta3\s+supported/);
    await page.getByTestId('flux-stuck').waitFor();
    await page.getByTestId('lockdown').waitFor();
    await shoot(page, 'flux-check');
  } finally {
    await page.context().close();
  }
});
