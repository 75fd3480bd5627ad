// Shared set-up for the specs: the server under test, Debian's Chromium, the output folder.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

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
