// The API reference in the browser: grouped operations with their bodies and answers, from
// the document Pilothouse serves (no asset from outside), and the document itself validated
// against the OpenAPI 3.1 schema by swagger-parser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { baseUrl, launch, screenshotPath, signIn, darkTheme } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the API reference is served by Pilothouse itself', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'alice', '/');
  // From here on (the identity provider is outside, by design), every request stays home.
  const outside = [];
  page.on('request', (request) => { if (!request.url().startsWith(baseUrl)) outside.push(request.url()); });
  await page.getByRole('link', { name: 'API reference' }).click();
  await page.getByRole('heading', { name: 'API reference', level: 1 }).waitFor();
  const groups = page.getByTestId('api-group');
  await groups.first().waitFor();
  assert.ok(await groups.count() >= 6, 'operations grouped by tag');
  const scale = page.getByTestId('api-operation').filter({ hasText: '/o2dms/v1/deployments/{first}/scale' });
  await scale.locator('summary').click();
  assert.match(await scale.innerText(), /ScaleBody/);
  assert.match(await scale.innerText(), /429/);
  await page.screenshot({ path: screenshotPath('api-docs'), fullPage: false });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('api-docs-dark'), fullPage: false });
  // The document validates against the OpenAPI 3.1 schema, by an independent validator.
  const document = await (await context.request.get(`${baseUrl}/o2dms/v1/openapi.json`)).json();
  assert.equal(document.openapi, '3.1.0');
  await SwaggerParser.validate(structuredClone(document));
  assert.deepEqual(outside, [], 'nothing comes from outside Pilothouse');
});
