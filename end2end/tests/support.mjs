// Shared set-up for the specs: the server under test, Debian's Chromium, the output folder.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
export const outputDir = process.env.E2E_OUTPUT ?? new URL('../output', import.meta.url).pathname;

// Flags verified on these machines; the networking ones keep Chromium off the closed network.
export async function launch() {
  mkdirSync(outputDir, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

export function screenshotPath(name) {
  return join(outputDir, `${name}.png`);
}

export const passwords = {
  admin: process.env.ADMIN_PASSWORD,
  alice: process.env.ALICE_PASSWORD,
  carol: process.env.CAROL_PASSWORD,
  dave: process.env.DAVE_PASSWORD,
};

// Signs in through the demo identity provider's real login form and waits for hydration.
export async function signIn(page, login, path = '/') {
  await page.goto(baseUrl + path);
  await page.locator('input[name="login"]').waitFor();
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', passwords[login]);
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.href.startsWith(baseUrl));
  await hydrated(page);
}

// Waits until the page has hydrated; when it does not, says what the browser reported.
export async function hydrated(page) {
  const problems = [];
  const onError = (error) => problems.push(`page error: ${error.message}`);
  const onConsole = (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); };
  page.on('pageerror', onError);
  page.on('console', onConsole);
  try {
    // Generous: the first page after start-up instantiates the wasm bundle on a busy machine.
    await page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 60_000 });
  } catch (error) {
    await page.screenshot({ path: screenshotPath('not-hydrated'), fullPage: true }).catch(() => {});
    throw new Error(`${page.url()} did not hydrate: ${problems.join(' | ') || 'no error reported'} (${error.message})`);
  } finally {
    page.off('pageerror', onError);
    page.off('console', onConsole);
  }
}

// The sandbox cluster's API, as its administrator (what Flux or kubectl would do directly).
export const sandbox = { url: process.env.SANDBOX_URL, token: process.env.SANDBOX_TOKEN };

export async function clusterRequest(method, path, body, contentType = 'application/json') {
  if (!sandbox.url || !sandbox.token) throw new Error('the suite passes SANDBOX_URL and SANDBOX_TOKEN');
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

// Creates a Kustomization straight in the cluster; `source` is a GitRepository there.
export async function createKustomization(namespace, name, source) {
  const created = await clusterRequest('POST', `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations`, {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name },
    spec: { interval: '10m', path: './scratch', prune: true, sourceRef: { kind: 'GitRepository', name: source } },
  });
  if (created.status !== 201) throw new Error(`creating ${namespace}/${name}: ${created.status} ${created.body}`);
}

export async function deleteKustomization(namespace, name) {
  await clusterRequest('DELETE', `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations/${name}`);
}

// Puts the browser in a dark (or light) operating-system scheme, as a user's machine would be:
// the page follows it without touching the theme menu. Waits until the page's colours changed.
export async function darkTheme(page, theme = 'dark') {
  await page.emulateMedia({ colorScheme: theme });
  const background = theme === 'dark' ? 'rgb(15, 20, 27)' : 'rgb(247, 248, 250)';
  await page.waitForFunction(
    (expected) => getComputedStyle(document.body).backgroundColor === expected,
    background,
  );
}

// A ustar archive of [name, text] entries, gzip-compressed.
export function tgz(entries) {
  const blocks = [];
  for (const [name, text] of entries) {
    const data = Buffer.from(text);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    header.write('00000000000\0', 136);
    header.fill(' ', 148, 156);
    header.write('0', 156);
    header.write('ustar\0' + '00', 257);
    const sum = header.reduce((a, b) => a + b, 0);
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
