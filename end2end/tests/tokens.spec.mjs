// API tokens in the browser: alice makes a read-only token for team-a from the user menu,
// sees its secret once, a script uses it (reads work, changes are refused as read-only),
// and after she revokes it the API no longer accepts it. A token for a service principal
// is refused to her, since she administers no tenant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'playwright-core';
import { baseUrl, launch, screenshotPath, signIn, darkTheme } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// A script's view: no browser session, only the bearer token.
async function callApi(method, path, token) {
  const api = await request.newContext({ baseURL: baseUrl });
  try {
    const response = await api.fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      data: method === 'GET' ? undefined : '{}',
    });
    return { status: response.status(), body: await response.text() };
  } finally {
    await api.dispose();
  }
}

test('a user makes, uses and revokes an API token', async () => {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, 'alice', '/');
  await page.getByRole('link', { name: 'API tokens' }).click();
  await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor();

  const form = page.getByTestId('create-token');
  // A service token needs a tenant admin; the refusal names the field's tenant.
  await form.locator('input[name="name"]').fill('deploy-bot');
  await form.locator('input[name="tenant"]').fill('team-a');
  await form.locator('input[name="service"]').fill('deployer');
  await form.getByRole('button', { name: 'Create token' }).click();
  await page.getByRole('alert').filter({ hasText: 'team-a' }).first().waitFor();
  assert.equal(await form.locator('input[name="name"]').inputValue(), 'deploy-bot', 'what she typed is kept');

  await form.locator('input[name="name"]').fill('ci-pipeline');
  await form.locator('input[name="service"]').fill('');
  await form.locator('input[name="expires_in_days"]').fill('7');
  await form.locator('input[name="read_only"]').check();
  await form.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByTestId('token-secret').innerText()).trim();
  assert.match(secret, /^ph_[A-Za-z0-9_-]{20,}$/);
  const row = page.getByTestId('tokens-table').locator('tr[data-token="ci-pipeline"]');
  await row.waitFor();
  assert.match(await row.innerText(), /tenant team-a, read-only/);
  assert.match(await row.innerText(), /active/);
  await page.screenshot({ path: screenshotPath('tokens'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('tokens-dark'), fullPage: true });

  const listed = await callApi('GET', '/o2dms/v1/deployments?namespace=team-a', secret);
  assert.equal(listed.status, 200, listed.body);
  assert.match(listed.body, /"items"/);
  const me = await callApi('GET', '/o2dms/v1/me', secret);
  assert.match(me.body, /"subject":"alice"/, me.body);
  const change = await callApi('POST', '/o2dms/v1/deployments/default~team-a~HelmRelease~podinfo/reconcile', secret);
  assert.equal(change.status, 403, change.body);
  assert.match(change.body, /read-only/);

  // The list never shows the secret again.
  await page.reload();
  await row.waitFor();
  assert.equal(await page.getByTestId('token-secret').count(), 0);
  assert.equal((await page.content()).includes(secret), false);

  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.filter({ hasText: 'revoked' }).waitFor();
  const refused = await callApi('GET', '/o2dms/v1/deployments?namespace=team-a', secret);
  assert.equal(refused.status, 401, refused.body);
});
