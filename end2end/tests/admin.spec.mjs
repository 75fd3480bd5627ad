// Onboarding a tenant in the browser: admin creates team-c, gives it the unassigned
// namespace team-c and makes alice a viewer; alice then sees team-c's deployment, and loses
// it when the membership goes; its buttons are disabled and say why. Refusals show beside the form; the browser stops an invalid
// slug before it is sent. dave administers only team-b's members; carol sees no admin forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, hydrated, launch, passwords, screenshotPath, signIn, darkTheme } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function teamCDeployments(page) {
  await page.goto(`${baseUrl}/deployments?namespace=team-c`);
  await hydrated(page);
  await page.locator('[data-testid="deployments-table"], p.empty').first().waitFor();
  return page.locator('[data-testid="deployments-table"] tbody tr').count();
}

test('a platform-admin onboards a tenant', async () => {
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, 'admin', '/admin');
  const tenants = admin.getByTestId('tenants');
  await tenants.waitFor();
  const unassigned = admin.getByTestId('namespaces-table').locator('tr[data-namespace="team-c"]');
  assert.match(await unassigned.innerText(), /unassigned/);

  // The browser refuses a slug Kubernetes would not take; nothing is sent.
  const slug = admin.getByTestId('create-tenant').locator('input[name="slug"]');
  await slug.fill('Team_C');
  await admin.getByTestId('create-tenant').getByRole('button', { name: 'Create tenant' }).click();
  assert.equal(await slug.evaluate((el) => el.validity.valid), false);

  await slug.fill('team-c');
  await admin.getByTestId('create-tenant').locator('input[name="display_name"]').fill('Team C');
  await admin.getByTestId('create-tenant').getByRole('button', { name: 'Create tenant' }).click();
  await admin.getByTestId('tenants-table').locator('tr[data-tenant="team-c"]').waitFor();

  // Creating it again is refused by the server, and the message says so.
  await slug.fill('team-c');
  await admin.getByTestId('create-tenant').getByRole('button', { name: 'Create tenant' }).click();
  await tenants.getByRole('alert').filter({ hasText: 'tenant already exists: team-c' }).waitFor();

  const assign = admin.getByTestId('assign-namespace');
  await assign.locator('input[name="namespace"]').fill('team-c');
  await assign.locator('select[name="tenant"]').selectOption('team-c');
  await assign.getByRole('button', { name: 'Assign' }).click();
  await admin.getByTestId('namespaces-table').locator('tr[data-namespace="team-c"]').filter({ hasText: 'Unassign' }).waitFor();

  // A tenant that owns namespaces is not deleted; the refusal names them.
  await admin.getByTestId('tenants-table').locator('tr[data-tenant="team-c"]').getByRole('button', { name: 'Delete' }).click();
  await tenants.getByRole('alert').filter({ hasText: 'still owns namespaces team-c' }).waitFor();

  await admin.goto(`${baseUrl}/admin?tenant=team-c`);
  await hydrated(admin);
  const add = admin.getByTestId('add-member');
  await add.locator('input[name="name"]').fill('alice');
  await add.locator('select[name="role"]').selectOption('viewer');
  await add.getByRole('button', { name: 'Add or change' }).click();
  const aliceRow = admin.getByTestId('members-table').locator('tr[data-member="alice"]');
  await aliceRow.waitFor();
  await admin.screenshot({ path: screenshotPath('admin'), fullPage: true });
  await darkTheme(admin);
  await admin.screenshot({ path: screenshotPath('admin-dark'), fullPage: true });

  const check = admin.getByTestId('access-check');
  await check.locator('input[name="subject"]').fill('alice');
  await check.locator('select[name="action"]').selectOption('deployment.scale');
  await check.locator('input[name="namespace"]').fill('team-c');
  await check.getByRole('button', { name: 'Check' }).click();
  const answer = admin.getByTestId('access-answer');
  await answer.waitFor();
  assert.match(await answer.innerText(), /Not allowed: alice may not deployment\.scale on namespace team-c: it needs operator on the tenant, and they are only viewer on tenant team-c/);

  // alice now sees team-c's deployment.
  const alice = await (await browser.newContext()).newPage();
  await signIn(alice, 'alice', '/');
  assert.equal(await teamCDeployments(alice), 1);

  // As a viewer she cannot change it: the buttons stay visible, disabled, and say why.
  await alice.getByTestId('deployments-table').getByRole('link', { name: 'billing' }).click();
  await alice.waitForURL(/\/deployments\/default~team-c~Kustomization~billing$/);
  const reconcile = alice.getByRole('button', { name: 'Reconcile' });
  await reconcile.waitFor();
  assert.equal(await reconcile.isDisabled(), true);
  const why = alice.getByTestId('why').first();
  await why.locator('summary').click();
  assert.match(await why.innerText(), /you may not deployment\.reconcile on namespace team-c: it needs operator on the tenant, and you are only viewer on tenant team-c/);
  await alice.screenshot({ path: screenshotPath('why-not'), fullPage: true });
  await darkTheme(alice);
  await alice.screenshot({ path: screenshotPath('why-not-dark'), fullPage: true });

  // Removing the membership takes it away again.
  await aliceRow.getByRole('button', { name: 'Remove' }).click();
  await aliceRow.waitFor({ state: 'detached' });
  assert.equal(await teamCDeployments(alice), 0);
  await alice.context().close();
  await admin.context().close();
});

test('a tenant admin manages only their own tenant', async () => {
  const dave = await (await browser.newContext()).newPage();
  await signIn(dave, 'dave', '/admin');
  await dave.getByTestId('members').waitFor();
  assert.equal(await dave.getByTestId('tenants').count(), 0, 'no tenant administration for tenant admins');
  assert.equal(await dave.getByTestId('namespaces').count(), 0);
  const add = dave.getByTestId('add-member');
  await add.locator('select[name="kind"]').selectOption('group');
  await add.locator('input[name="name"]').fill('b-readers');
  await add.getByRole('button', { name: 'Add or change' }).click();
  await dave.getByTestId('members-table').locator('tr[data-member="b-readers"]').waitFor();
  await dave.screenshot({ path: screenshotPath('admin-tenant'), fullPage: true });

  await dave.goto(`${baseUrl}/admin?tenant=team-a`);
  await hydrated(dave);
  await dave.getByTestId('members').getByRole('alert').filter({ hasText: 'team-a' }).waitFor();
  await dave.context().close();

  const carol = await (await browser.newContext()).newPage();
  await signIn(carol, 'carol', '/admin');
  await carol.getByTestId('admin-nothing').waitFor();
  assert.equal(await carol.locator('form[action*="/api/"]').count(), 0, 'no admin forms for an auditor');
  await carol.context().close();
});

test('the admin forms work before the page hydrates', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // No wasm, so the page never hydrates: the forms are plain HTML posts.
  await page.route('**/*.wasm', (route) => route.abort());
  await page.goto(`${baseUrl}/admin`);
  await page.locator('input[name="login"]').waitFor();
  await page.fill('input[name="login"]', 'admin');
  await page.fill('input[name="password"]', passwords.admin);
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.href.startsWith(baseUrl));
  await page.getByTestId('create-tenant').waitFor();
  assert.equal(await page.locator('.shell[data-hydrated="true"]').count(), 0);

  const form = page.getByTestId('create-tenant');
  await form.locator('input[name="slug"]').fill('team-d');
  await form.getByRole('button', { name: 'Create tenant' }).click();
  await page.getByTestId('tenants-table').locator('tr[data-tenant="team-d"]').waitFor();

  // A refused post comes back to the page with the server's reason beside the form.
  await page.getByTestId('create-tenant').locator('input[name="slug"]').fill('team-d');
  await page.getByTestId('create-tenant').getByRole('button', { name: 'Create tenant' }).click();
  await page
    .getByTestId('tenants')
    .getByRole('alert')
    .filter({ hasText: 'tenant already exists: team-d' })
    .waitFor();
  assert.equal(await page.getByTestId('tenants-table').locator('tr[data-tenant="team-d"]').count(), 1);

  await page.screenshot({ path: screenshotPath('admin-no-js'), fullPage: true });
  await context.close();
});
