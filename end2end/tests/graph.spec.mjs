// The dependency graph: the demo's team-b chain (analytics dependsOn analytics-db, both
// from the GitRepository analytics) is drawn with the dependency to the left of what needs
// it, and clicking a box opens that deployment. The tenant-wide view shows every namespace
// the user sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, darkTheme, hydrated, launch, screenshotPath, signIn } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// A node's position from its transform.
async function place(node) {
  const transform = await node.getAttribute('transform');
  const [, x, y] = /translate\(([\d.]+) ([\d.]+)\)/.exec(transform);
  return { x: Number(x), y: Number(y) };
}

test('the graph shows the dependsOn chain and a node opens its deployment', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'dave', '/graph?namespace=team-b');
  const graph = page.getByTestId('graph');
  const box = (name) => `g[data-testid="graph-node"][data-kind="Kustomization"][data-name="${name}"]`;
  const db = graph.locator(box('analytics-db'));
  const app = graph.locator(box('analytics'));
  await db.waitFor();
  assert.ok((await place(db)).x < (await place(app)).x, 'the dependency is drawn left of its dependent');
  const edges = await page.getByTestId('graph-edges').locator('li').allTextContents();
  assert.ok(edges.includes('Kustomization team-b/analytics needs Kustomization team-b/analytics-db'), edges.join('\n'));
  assert.ok(edges.includes('Kustomization team-b/analytics needs GitRepository team-b/analytics'), edges.join('\n'));
  assert.match(await db.getAttribute('class'), /status-(deployed|deploying|pending)/);
  assert.equal(await graph.locator(box('shop')).count(), 0, 'only team-b');
  await page.screenshot({ path: screenshotPath('graph'), fullPage: true });
  await darkTheme(page);
  await page.screenshot({ path: screenshotPath('graph-dark'), fullPage: true });

  // Keyboard: the boxes are links, reachable and followed with the keyboard.
  await graph.locator(`a:has(${box('analytics')})`).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/deployments\/default~team-b~Kustomization~analytics$/);
  await hydrated(page);
  await page.getByTestId('status').waitFor();

  // Tenant-wide: both of dave's namespaces, and a mouse click on a box navigates too.
  await page.goto(`${baseUrl}/graph`);
  await hydrated(page);
  await graph.locator(box('shop')).waitFor();
  assert.equal(await graph.locator(box('analytics-db')).count(), 1);
  await page.screenshot({ path: screenshotPath('graph-tenant'), fullPage: true });
  await graph.locator(box('shop')).click();
  await page.waitForURL(/\/deployments\/default~team-a~Kustomization~shop$/);
  await context.close();
});
