// The listener on a phone (390×844), in the listener's language, in Debian's Chromium against
// the local runner, with the keynote capture as the speaker's microphone (STATES_MIC_WAV):
// the page in Spanish from join to end, the controls on screen during the talk, "Show
// original" turned on mid-talk with the history still moving, the transcript downloaded, a
// clean end, and axe-core on each state. A Japanese browser's join page needs no talk.
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterEach, expect, it } from 'vitest';
import { BASE, expectAccessible, launchWithMicrophone, openTalk, playLog, screenshot, textOf } from './harness';

let browser: Browser | null = null;
afterEach(async () => {
  await browser?.close();
  browser = null;
});

const PHONE = { width: 390, height: 844 };
const CONTROLS = ['pause-button', 'mute-button', 'volume-slider', 'live-language-select', 'show-original', 'more-button'];

/** Where each control is on the phone's screen (its top and bottom edge in px). */
async function controlPositions(page: Page): Promise<Record<string, [number, number]>> {
  const positions: Record<string, [number, number]> = {};
  for (const id of CONTROLS) {
    const box = await page.getByTestId(id).boundingBox();
    positions[id] = box ? [Math.round(box.y), Math.round(box.y + box.height)] : [-1, -1];
  }
  return positions;
}

/** The history shows its newest line: scrolled to its end, the line before the caption in view. */
async function historyAtEnd(page: Page): Promise<boolean> {
  return page.getByTestId('caption-history').evaluate((list) => {
    const visible = [...list.children].filter((li) => !li.classList.contains('in-caption'));
    const last = visible.at(-1);
    if (!last) return true;
    const box = list.getBoundingClientRect();
    const line = last.getBoundingClientRect();
    return line.bottom <= box.bottom + 1 && line.top >= box.top - 1;
  });
}

it.skipIf(!process.env.STATES_MIC_WAV)(
  'a Spanish listener on a phone: the page in Spanish, controls on screen, history moving, transcript, a clean end, axe clean',
  async () => {
    browser = await launchWithMicrophone(process.env.STATES_MIC_WAV!);
    const impacts: Record<string, Record<string, number>> = {};
    const talk = await openTalk(browser, 'Keynote', 'es', {
      locale: 'es-ES',
      beforeJoin: async (page) => {
        // Before joining: the browser's language.
        expect(await page.evaluate(() => document.documentElement.lang)).toBe('es');
        expect(await textOf(page, 'join-button')).toBe('Toca para activar el audio');
        await screenshot(page, 'listener-es-join.png');
        impacts.join = await expectAccessible(page, 'listener join (es)');
      },
    });
    const { listener, speaker } = talk;
    // A second listener, captions only (chosen on the join screen): no clip is fetched at all.
    const reader = await (await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, locale: 'fr-FR' })).newPage();
    const readerFetches: string[] = [];
    reader.on('request', (request) => {
      if (request.url().includes('/s3/')) readerFetches.push(request.url());
    });
    await reader.goto(`${BASE}/listener/?session=${talk.code}`);
    await reader.getByTestId('captions-only-join').check();
    await reader.getByTestId('language-select').selectOption('fr');
    await reader.getByTestId('join-button').click();
    await expect.poll(() => reader.getByTestId('live-panel').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await reader.evaluate(() => document.documentElement.lang)).toBe('fr');
    expect(await reader.getByTestId('pause-button').isVisible()).toBe(false); // nothing to pause: no sound
    expect(await listener.evaluate(() => document.documentElement.lang)).toBe('es');
    expect(await textOf(listener, 'listener-status-text')).toMatch(/^Esperando al ponente/);
    expect(await textOf(listener, 'pause-button')).toBe('Pausa');

    await speaker.getByTestId('start-button').click();
    await expect.poll(async () => (await playLog(listener)).length, { timeout: 90_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    // The controls stay on the phone's screen while captions flow.
    const positions = await controlPositions(listener);
    console.log(`controls at 390x844 during the talk (top, bottom px): ${JSON.stringify(positions)}`);
    for (const [id, [top, bottom]] of Object.entries(positions)) {
      expect(top, id).toBeGreaterThanOrEqual(0);
      expect(bottom, id).toBeLessThanOrEqual(PHONE.height);
    }
    // The newest line shows once: in the caption, not again in the list.
    const caption = await textOf(listener, 'caption');
    const shownInList = await listener.locator('[data-testid="caption-line"]:visible .text').allTextContents();
    expect(shownInList).not.toContain(caption);
    await screenshot(listener, 'listener-es-live.png');
    impacts.live = await expectAccessible(listener, 'listener live (es)');
    await expect.poll(() => reader.getByTestId('caption-line').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await screenshot(reader, 'listener-fr-captions-only.png');

    // "Show original" turned on mid-talk: later lines still come into view.
    await listener.getByTestId('show-original').check();
    const linesAtToggle = await listener.getByTestId('caption-line').count();
    await expect.poll(() => listener.getByTestId('caption-line').count(), { timeout: 60_000, interval: 250 }).toBeGreaterThan(linesAtToggle + 1);
    await expect.poll(() => historyAtEnd(listener), { timeout: 5_000 }).toBe(true);
    await screenshot(listener, 'listener-es-original.png');

    await listener.getByTestId('pause-button').click();
    expect(await textOf(listener, 'pause-button')).toBe('Reanudar');
    impacts.paused = await expectAccessible(listener, 'listener paused (es)');
    await listener.getByTestId('pause-button').click();

    await speaker.getByTestId('stop-button').click();
    await speaker.getByTestId('confirm-end-button').click();
    // The end: one message once the last clips played, and no control that no longer applies.
    await expect.poll(() => listener.getByTestId('live-panel').getAttribute('data-finished'), { timeout: 60_000 }).toBe('true');
    expect(readerFetches).toEqual([]); // captions only, the whole talk: not one clip
    expect(await reader.getByTestId('caption-line').count()).toBeGreaterThan(1);
    expect(await textOf(listener, 'session-banner')).toBe('La sesión ha terminado. Gracias por escuchar.');
    expect(await listener.getByTestId('listener-status').isVisible()).toBe(false);
    for (const id of ['pause-button', 'mute-button', 'live-language-select']) expect(await listener.getByTestId(id).isDisabled(), id).toBe(true);
    await screenshot(listener, 'listener-es-ended.png');
    impacts.ended = await expectAccessible(listener, 'listener ended (es)');

    // The transcript: its links come up where the button is, and a click downloads the file.
    await listener.getByTestId('more-button').click();
    await listener.getByTestId('download-transcript').click();
    const links = listener.getByTestId('transcript-links').locator('a');
    await expect.poll(() => links.count(), { timeout: 30_000 }).toBe(3);
    expect(await links.first().textContent()).toBe('Texto');
    for (const link of await links.all()) {
      const box = await link.boundingBox(); // in view, where the button was: not below the screen
      expect(box!.y).toBeGreaterThanOrEqual(0);
      expect(box!.y + box!.height).toBeLessThanOrEqual(PHONE.height);
    }
    expect(await listener.evaluate(() => document.querySelector('main')!.scrollTop)).toBe(0); // the page did not move
    const [download] = await Promise.all([listener.waitForEvent('download'), links.first().click()]);
    const text = await readFile((await download.path())!, 'utf8');
    const heard = (await playLog(listener)).map((p) => p.text.trim());
    expect(heard.some((line) => text.includes(line))).toBe(true);
    await screenshot(listener, 'listener-es-transcript.png');
    console.log(`axe listener (es), violations by impact: ${JSON.stringify(impacts)}`);
  },
  240_000,
);

it('a Japanese browser gets the join page in Japanese, and a wrong code is told at the field', async () => {
  browser = await launchWithMicrophone(process.env.STATES_MIC_WAV ?? process.env.MIC_WAV ?? '/dev/null');
  const page = await (await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, locale: 'ja-JP' })).newPage();
  await page.goto(`${BASE}/listener/?session=quiet-harbor-9999`);
  await expect.poll(() => page.getByTestId('join-button').isEnabled(), { timeout: 15_000 }).toBe(true);
  expect(await page.evaluate(() => document.documentElement.lang)).toBe('ja');
  expect(await textOf(page, 'join-button')).toBe('タップして音声を開始');
  await screenshot(page, 'listener-ja-join.png');
  await page.getByTestId('join-button').click();
  await expect.poll(() => textOf(page, 'code-error'), { timeout: 15_000 }).toBe('このコードのセッションはありません。コードを確認して、もう一度お試しください。');
  expect(await page.getByTestId('error-message').isVisible()).toBe(false);
  await screenshot(page, 'listener-ja-error.png');
  await expectAccessible(page, 'listener join (ja), wrong code');
  // The system asks for more contrast: the page follows, and stays axe clean.
  await page.emulateMedia({ contrast: 'more' });
  await expect.poll(() => page.evaluate(() => document.documentElement.classList.contains('high-contrast'))).toBe(true);
  await screenshot(page, 'listener-ja-high-contrast.png');
  await expectAccessible(page, 'listener join (ja), high contrast');
});
