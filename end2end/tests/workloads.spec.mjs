// What runs behind a deployment, as alice (operator of team-a) sees it on the page of `shop`,
// whose workload crash-loops in the demo: the configured deep link filled in with its values,
// the crashing pod first, its previous run's log with the panic, then a restart that rolls
// the pod. Both themes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { darkTheme, launch, screenshotPath, signIn } from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a crashing pod, its previous log, and a restart that rolls it', async () => {
  const page = await (await browser.newContext()).newPage();
  try {
    await signIn(page, 'alice', '/deployments/default~team-a~Kustomization~shop');
    // The configured deep link, filled in with this deployment's values.
    const link = page.getByTestId('deep-links').getByRole('link', { name: /Dashboard/ });
    assert.equal(await link.getAttribute('href'),
      'https://grafana.example/d/app?var-namespace=team-a&var-app=shop&var-kind=Kustomization');
    const section = page.getByTestId('workloads');
    const shop = section.locator('.workload[data-kind="Deployment"][data-name="shop"]');
    const row = shop.locator('tr[data-pod]').first();
    await row.waitFor({ timeout: 60_000 });
    assert.match(await row.innerText(), /CrashLoopBackOff/);
    assert.match(await row.innerText(), /Error, exit code 1/);
    const before = await row.getAttribute('data-pod');
    await row.getByRole('button', { name: 'Previous logs' }).click();
    const log = page.getByTestId('pod-log');
    await log.getByText('panic: DATABASE_URL is not set').waitFor();
    await section.scrollIntoViewIfNeeded();
    await section.screenshot({ path: screenshotPath('workloads') });
    await darkTheme(page);
    await section.screenshot({ path: screenshotPath('workloads-dark') });
    await darkTheme(page, 'light');

    await shop.getByRole('button', { name: 'Restart' }).click();
    // The rollout makes a pod from a new template; the section reads its pods again by itself.
    await page.waitForFunction(
      (name) => {
        const first = document.querySelector('.workload[data-name="shop"] tr[data-pod]');
        return first !== null && first.getAttribute('data-pod') !== name;
      },
      before,
      { timeout: 60_000 },
    );
    const rolled = await shop.locator('tr[data-pod]').first().getAttribute('data-pod');
    assert.notEqual(rolled, before);
    assert.equal(rolled.slice(0, -6) === before.slice(0, -6), false, 'a new ReplicaSet: a new template hash');
  } finally {
    await page.context().close();
  }
});
