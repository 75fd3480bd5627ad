// Colour contrast (WCAG 2 AA) on every page, in the operating system's light and dark schemes,
// checked by axe-core in the real browser: a new page or colour that falls short fails here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { baseUrl, darkTheme, hydrated, launch, signIn } from './support.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Who sees each page at its fullest: a platform-admin everywhere, the auditor on the log, and
// a tenant's operator, who sees only their tenant's part.
const pages = [
  ['alice', '/'],
  ['alice', '/deployments'],
  ['alice', '/deployments/default~team-a~HelmRelease~podinfo'],
  ['admin', '/'],
  ['admin', '/deployments'],
  ['admin', '/deployments/new'],
  ['admin', '/deployments/default~team-a~HelmRelease~podinfo'],
  ['admin', '/graph'],
  ['admin', '/operations'],
  ['admin', '/packages'],
  ['admin', '/sources'],
  ['admin', '/admin'],
  ['admin', '/tokens'],
  ['admin', '/api-docs'],
  ['carol', '/audit'],
];

// The nodes axe finds below AA contrast, as "selector: summary" lines.
async function contrastViolations(page) {
  // The page's CSP would refuse an injected script tag; evaluating through the driver is not
  // subject to it.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'rule', values: ['color-contrast'] },
  }));
  return result.violations.flatMap((v) => v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`));
}

for (const user of ['admin', 'carol', 'alice']) {
  test(`every page ${user} opens has AA contrast in both schemes`, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, user, '/');
    const found = [];
    for (const [who, path] of pages.filter(([who]) => who === user)) {
      for (const scheme of ['light', 'dark']) {
        await page.goto(baseUrl + path);
        await hydrated(page);
        await darkTheme(page, scheme);
        // Lists fill in after hydration: wait until no "Loading…" placeholder is left.
        await page.waitForFunction(() => ![...document.querySelectorAll('p.empty')]
          .some((p) => p.textContent.startsWith('Loading')), null, { timeout: 60_000 });
        for (const line of await contrastViolations(page)) found.push(`${path} (${scheme}, ${who}) ${line}`);
      }
    }
    assert.deepEqual(found, [], found.join('\n'));
    await context.close();
  });
}
