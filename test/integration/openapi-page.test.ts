import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { serviceForFile } from '../support/service.ts';

// The interactive docs page (`/openapi.html`, Swagger UI) in a real browser: it renders the operations
// from the service's own document, works offline (any request to another host fails the test), and
// "Try it out" sends a real request. A screenshot goes to test-results/ (a CI artifact).
const screenshotDirectory = fileURLToPath(new URL('../../test-results', import.meta.url));
const pagePath = '/api/rh-trex/v1/openapi.html';

const service = serviceForFile();

// A page of a fresh browser context whose every request to a host but the service's is refused and
// recorded, as are script errors.
async function offlinePage(browser: Browser): Promise<{ page: Page; external: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 2000 } });
  const page = await context.newPage();
  const origin = new URL(service.apiUrl).origin;
  const external: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin || url.startsWith('data:')) return await route.continue();
    external.push(url);
    await route.abort();
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, external, errors };
}

describe('the docs page in Chromium', () => {
  it('renders every operation, offline, and runs a request from "Try it out"', async () => {
    const species = `Pagesaurus ${Date.now()}`;
    expect(
      (await service.api('/api/rh-trex/v1/dinosaurs', { method: 'POST', body: { species } })).status,
    ).toBe(201);
    // Launched in the test, not before it: a browser that cannot start fails this test, with its reason.
    const browser = await launchChromium();
    try {
      await exercisePage(browser, species);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

// Every operation renders, offline; "Try it out" lists the dinosaurs, `species` among them.
async function exercisePage(browser: Browser, species: string): Promise<void> {
  const { page, external, errors } = await offlinePage(browser);
  await page.goto(`${service.apiUrl}${pagePath}`);

  // Every operation of the document is on the page, under its tag.
  await page.locator('#operations-dinosaurs-listDinosaurs').waitFor();
  for (const id of [
    'operations-dinosaurs-listDinosaurs',
    'operations-dinosaurs-createDinosaur',
    'operations-dinosaurs-getDinosaur',
    'operations-dinosaurs-updateDinosaur',
    'operations-dinosaurs-deleteDinosaur',
    'operations-events-listEvents',
    'operations-events-getEvent',
    'operations-metadata-getApi',
    'operations-metadata-listErrors',
  ]) {
    await expect(page.locator(`#${id}`).count(), id).resolves.toBe(1);
  }
  expect(await page.locator('.opblock').count()).toBe(await operationCount());

  // Authorize with a token, then list the dinosaurs from the page.
  await page.locator('.auth-wrapper button.authorize').click();
  await page.locator('.dialog-ux input').fill(await service.keys.mint());
  await page.locator('.dialog-ux button.authorize').click();
  await page.locator('.dialog-ux button.btn-done').click();
  const operation = page.locator('#operations-dinosaurs-listDinosaurs');
  await operation.locator('.opblock-summary').first().click();
  await operation.locator('button.try-out__btn').click();
  await operation.locator('button.execute').click();
  // The live response: its status and its body, which holds the dinosaur created above.
  const response = operation.locator('.live-responses-table tbody tr.response').first();
  await response.waitFor();
  expect((await response.locator('.response-col_status').textContent())?.trim()).toBe('200');
  expect(await response.locator('.microlight').first().textContent()).toContain(species);

  mkdirSync(screenshotDirectory, { recursive: true });
  await page.screenshot({ path: `${screenshotDirectory}/openapi-page.png`, fullPage: true });
  expect(external, 'requests to other hosts').toEqual([]);
  expect(errors, 'script errors').toEqual([]);
}

async function operationCount(): Promise<number> {
  const document = (await service.api('/api/rh-trex/v1/openapi', { token: null })).body as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.values(document.paths).reduce((count, item) => count + Object.keys(item).length, 0);
}
