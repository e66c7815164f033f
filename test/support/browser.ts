import sparticuzChromium from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';

// The Chromium that ships inside the @sparticuz/chromium npm package (unpacked into the temp folder on
// first use, about two seconds), so `npm ci && npm test` needs nothing installed by hand; or the browser
// TREX_TEST_CHROMIUM names. Never a browser downloaded by Playwright.
async function chromiumPath(): Promise<string> {
  return process.env.TREX_TEST_CHROMIUM || (await sparticuzChromium.executablePath());
}

// Flags for a headless browser on a closed network: no sandbox (tests run as root), no GPU, and none of
// the background connections (updates, sync, field trials) it would otherwise try at every start.
const flags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Playwright starts it headless with a fresh, temporary profile (user data directory) of its own.
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({ executablePath: await chromiumPath(), headless: true, args: flags });
}
