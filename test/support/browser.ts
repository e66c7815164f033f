import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

// Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it when missing), or the browser
// TREX_TEST_CHROMIUM names. Never a browser downloaded by Playwright.
export const chromiumPath = process.env.TREX_TEST_CHROMIUM || '/usr/bin/chromium';

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
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `The docs page test needs Chromium at ${chromiumPath}: run \`apt-get install -y chromium\` ` +
        '(.ci/run does), or set TREX_TEST_CHROMIUM to a Chromium or Chrome binary',
    );
  }
  return await chromium.launch({ executablePath: chromiumPath, headless: true, args: flags });
}
