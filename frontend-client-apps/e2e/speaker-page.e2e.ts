// The speaker page in Debian's Chromium against the local runner: a Create click made before
// the connection is open (a slow sign-in token holds it back) still creates the session;
// Copy says "Copied"; the ended page looks ended; axe-core on each state.
import type { Browser } from 'playwright-core';
import { afterEach, expect, it } from 'vitest';
import { BASE, expectAccessible, launchWithMicrophone, screenshot, textOf } from './harness';

let browser: Browser | null = null;
afterEach(async () => {
  await browser?.close();
  browser = null;
});

it('a Create click at page load creates a session; Copy confirms; the end looks ended', async () => {
  browser = await launchWithMicrophone(process.env.MIC_WAV ?? process.env.STATES_MIC_WAV ?? '/dev/null');
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('speaker page error:', error));
  // The sign-in token comes slowly, as with a slow sign-in: the connection opens late.
  await page.route('**/dev/token', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await route.continue();
  });
  await page.goto(`${BASE}/speaker/`);
  await page.getByTestId('create-session-button').click();
  const stateAtClick = await page.getByTestId('connection-state').getAttribute('data-state');
  expect(stateAtClick).not.toBe('open'); // the click came before the connection
  expect(await page.getByTestId('create-session-button').isDisabled()).toBe(true);
  expect(await textOf(page, 'create-status')).toMatch(/as soon as the connection is ready/);
  await expect.poll(() => textOf(page, 'session-code'), { timeout: 20_000 }).toMatch(/^[a-z]{3,12}-[a-z]{3,12}-\d{4}$/);
  await expectAccessible(page, 'speaker session');

  await page.getByTestId('copy-link-button').click();
  await expect.poll(() => textOf(page, 'copy-link-button')).toBe('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await page.getByTestId('listener-link').inputValue());

  await page.getByTestId('stop-button').click();
  await page.getByTestId('confirm-end-button').click();
  await expect.poll(() => page.getByTestId('broadcast-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('ended');
  // Ended: the code, link, QR and Copy are gone, a note says the code no longer works.
  for (const id of ['session-code', 'listener-link', 'copy-link-button', 'qr-code', 'microphone-select']) {
    expect(await page.getByTestId(id).isVisible(), id).toBe(false);
  }
  expect(await page.getByTestId('ended-note').isVisible()).toBe(true);
  expect(await page.getByTestId('new-session-button').isVisible()).toBe(true);
  await screenshot(page, 'speaker-ended-clean.png');
  await expectAccessible(page, 'speaker ended');
});

it('the speaker page before a session is axe clean', async () => {
  browser = await launchWithMicrophone(process.env.MIC_WAV ?? process.env.STATES_MIC_WAV ?? '/dev/null');
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
  await page.goto(`${BASE}/speaker/`);
  await expect.poll(() => page.getByTestId('connection-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
  await expectAccessible(page, 'speaker setup');
});
