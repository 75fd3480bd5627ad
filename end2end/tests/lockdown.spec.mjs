// Flux's multi-tenancy lockdown as a platform-admin sees it: the Admin page's table of each
// controller's flags (the demo's controllers run locked down), a red banner on the Admin page
// and the overview once kustomize-controller runs without them, and the per-tenant setting
// that lets a tenant's own content create Flux objects, which binds and unbinds the writer
// role to the tenant's account in the cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, clusterRequest, darkTheme, hydrated, launch, screenshotPath, signIn } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const CONTROLLER = '/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller';

/// Replaces the manager container's arguments of kustomize-controller.
async function setArgs(args) {
  const patched = await clusterRequest('PATCH', CONTROLLER,
    { spec: { template: { spec: { containers: [{ name: 'manager', image: 'ghcr.io/fluxcd/kustomize-controller:simulated', args }] } } } },
    'application/merge-patch+json');
  assert.equal(patched.status, 200, patched.body);
}

test('the controllers\' lockdown is reported, and a gap turns the Admin page red', async () => {
  const current = await clusterRequest('GET', CONTROLLER);
  assert.equal(current.status, 200, current.body);
  const locked = JSON.parse(current.body).spec.template.spec.containers[0].args;
  const page = await (await browser.newContext()).newPage();
  try {
    await signIn(page, 'admin', '/admin');
    const table = page.getByTestId('lockdown');
    await table.waitFor();
    assert.match(await table.innerText(), /locked down/);
    assert.equal(await page.getByTestId('lockdown-banner').count(), 0, 'no banner while locked down');

    await setArgs(locked.filter((arg) => !arg.startsWith('--default-service-account') && !arg.startsWith('--no-')));
    await page.goto(`${baseUrl}/admin`);
    await hydrated(page);
    const banner = page.getByTestId('lockdown-banner');
    await banner.waitFor();
    assert.match(await banner.innerText(), /Flux is not locked down for tenants/);
    assert.match(await banner.innerText(), /kustomize-controller: --no-cross-namespace-refs, --no-remote-bases, --default-service-account/);
    const row = page.getByTestId('lockdown').locator('tr[data-controller="kustomize-controller"][data-flag="--default-service-account"]');
    assert.match(await row.innerText(), /absent/);
    await page.screenshot({ path: screenshotPath('lockdown-off'), fullPage: true });

    // The overview warns platform-admins too.
    await page.goto(`${baseUrl}/`);
    await hydrated(page);
    await page.getByTestId('lockdown-banner').waitFor();
    await page.screenshot({ path: screenshotPath('lockdown-overview'), fullPage: true });
    await darkTheme(page);
    await page.screenshot({ path: screenshotPath('lockdown-overview-dark'), fullPage: true });
    await page.goto(`${baseUrl}/admin`);
    await hydrated(page);
    await page.getByTestId('lockdown-banner').waitFor();
    await page.screenshot({ path: screenshotPath('lockdown-off-dark'), fullPage: true });
  } finally {
    await setArgs(locked);
    await page.context().close();
  }
});

test('a platform-admin allows and forbids nested Flux objects for a tenant', async () => {
  const binding = '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/pilothouse-tenant-flux';
  const page = await (await browser.newContext()).newPage();
  await signIn(page, 'admin', '/admin');
  const row = page.getByTestId('tenants-table').locator('tr[data-tenant="team-a"]');
  const cell = row.getByTestId('nested-flux');
  await cell.waitFor();
  assert.match(await cell.innerText(), /forbidden/);
  assert.equal((await clusterRequest('GET', binding)).status, 404, 'off by default: no binding');

  await cell.getByRole('button', { name: 'Allow nested Flux objects for team-a' }).click();
  await cell.filter({ hasText: 'allowed' }).waitFor();
  const bound = await clusterRequest('GET', binding);
  assert.equal(bound.status, 200, bound.body);
  assert.equal(JSON.parse(bound.body).roleRef.name, 'pilothouse-flux-writer');
  await page.screenshot({ path: screenshotPath('nested-flux'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('nested-flux-dark'), fullPage: true });

  await cell.getByRole('button', { name: 'Forbid nested Flux objects for team-a' }).click();
  await cell.filter({ hasText: 'forbidden' }).waitFor();
  assert.equal((await clusterRequest('GET', binding)).status, 404, 'the binding goes with the setting');
  await page.context().close();
});
