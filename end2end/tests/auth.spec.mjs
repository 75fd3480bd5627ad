// Sign-in through the real OpenID provider, the way back to the page asked for, and sign-out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, baseUrl, screenshotPath, signIn, passwords } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('unauthenticated visitors are sent to sign in, and a wrong password is refused there', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(baseUrl + '/audit');
  assert.ok(page.url().startsWith(process.env.IDP_ISSUER), page.url());
  await page.screenshot({ path: screenshotPath('login'), fullPage: true });
  await page.fill('input[name="login"]', 'carol');
  await page.fill('input[name="password"]', 'not-the-password');
  await page.click('button[type="submit"]');
  assert.match(await page.getByRole('alert').innerText(), /wrong password/);

  await page.fill('input[name="password"]', passwords.carol);
  await page.click('button[type="submit"]');
  await page.waitForURL(baseUrl + '/audit');
  await page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId('roles').innerText(), 'auditor');
  // The auditor reads the record the demo seed left behind.
  const rows = page.getByTestId('audit-table').locator('tbody tr');
  assert.ok(await rows.count() > 0);
  await page.fill('input[name="text"]', 'membership.add');
  await page.click('form[role="search"] button');
  await page.waitForURL(/text=membership.add/);
  await page.getByTestId('audit-table').waitFor();
  for (const action of await page.getByTestId('audit-table').locator('tbody code').allInnerTexts()) {
    assert.equal(action, 'membership.add');
  }
  await page.screenshot({ path: screenshotPath('audit-auditor'), fullPage: true });
  await context.close();
});

test('signing out ends the session', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'alice', '/sources');
  assert.equal(page.url(), baseUrl + '/sources');
  await page.getByTestId('sign-out').click();
  await page.waitForURL(baseUrl + '/auth/signed-out');
  assert.equal(await page.locator('h1').innerText(), 'Signed out');
  await page.screenshot({ path: screenshotPath('signed-out'), fullPage: true });

  await page.goto(baseUrl + '/');
  assert.ok(page.url().startsWith(process.env.IDP_ISSUER), 'back at the provider: ' + page.url());
  await context.close();
});
