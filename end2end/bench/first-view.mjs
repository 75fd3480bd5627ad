// The first view of /deployments in Chromium, for `cargo xtask bench fleet`: when the HTML had
// arrived and when the page had hydrated, in ms from the start of navigation, over LOADS
// loads with the bundle already in the browser's cache. Prints one JSON line.
import { chromium } from 'playwright-core';

const { BASE_URL, TOKEN, CHROMIUM, LOADS = '20', PAGE = '/deployments' } = process.env;

const browser = await chromium.launch({ executablePath: CHROMIUM });
try {
  const context = await browser.newContext({
    extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` },
  });
  // Notes the moment the application marks itself hydrated, inside the page, so the figure
  // does not include Playwright's polling.
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('[data-hydrated="true"]')) {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
  });
  const page = await context.newPage();
  const load = async () => {
    const answer = await page.goto(`${BASE_URL}${PAGE}`);
    if (!answer || answer.status() !== 200) {
      throw new Error(`${PAGE} answered ${answer && answer.status()}`);
    }
    await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 60_000 });
    return page.evaluate(() => ({
      html: performance.getEntriesByType('navigation')[0].responseEnd,
      hydrated: window.__hydratedAt,
      rows: document.querySelectorAll('[data-testid="deployments-table"] tbody tr').length,
    }));
  };
  await load(); // fills the cache
  const loads = [];
  for (let i = 0; i < Number(LOADS); i += 1) {
    loads.push(await load());
  }
  console.log(JSON.stringify(loads));
} finally {
  await browser.close();
}
