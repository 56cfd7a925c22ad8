// Both apps in Debian's Chromium against the local runner: the speaker page broadcasts a
// fake microphone (an espeak-ng WAV); a listener in another browser context joins in
// Spanish, taps to start audio, and receives, schedules and captions the clips.
//   APP_BASE_URL=http://127.0.0.1:8080 MIC_WAV=/tmp/mic.wav ARTIFACTS_DIR=... npm run test:e2e
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ARTIFACTS, BASE, captionedLog, launchWithMicrophone, playLog, textOf } from './harness';

let browser: Browser;

beforeAll(async () => {
  browser = await launchWithMicrophone(process.env.MIC_WAV ?? '');
});

afterAll(async () => {
  await browser?.close();
});

it('a speaker broadcasts and a listener hears Spanish clips with captions', async () => {
  const speakerContext = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const speaker = await speakerContext.newPage();
  speaker.on('pageerror', (error) => console.error('speaker page error:', error));
  await speaker.goto(`${BASE}/speaker/`);
  await expect.poll(() => textOf(speaker, 'connection-state'), { timeout: 15_000 }).toBe('Connected');
  await speaker.getByTestId('title-input').fill('Opening keynote');
  await speaker.getByTestId('source-language-select').selectOption('en');
  await speaker.getByTestId('create-session-button').click();
  await expect.poll(() => textOf(speaker, 'session-code'), { timeout: 15_000 }).toMatch(/^[a-z]{3,12}-[a-z]{3,12}-\d{4}$/);
  const code = await textOf(speaker, 'session-code');
  const link = await speaker.getByTestId('listener-link').inputValue();
  expect(link).toContain(`session=${code}`);

  const listenerContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const listener = await listenerContext.newPage();
  listener.on('pageerror', (error) => console.error('listener page error:', error));
  await listener.goto(`${BASE}/listener/?session=${code}`);
  await expect.poll(() => listener.getByTestId('session-code-input').inputValue()).toBe(code);
  await listener.getByTestId('language-select').selectOption('es');
  await listener.getByTestId('join-button').click(); // "Tap to start audio"
  await expect.poll(() => listener.getByTestId('live-panel').isVisible(), { timeout: 15_000 }).toBe(true);
  await expect.poll(() => textOf(speaker, 'listener-total'), { timeout: 15_000 }).toBe('1');

  await speaker.getByTestId('start-button').click();
  await expect.poll(() => textOf(speaker, 'broadcast-state')).toBe('Broadcasting live');

  // The first captions, then their voices: each caption is on the screen before its clip plays.
  await expect.poll(() => textOf(listener, 'caption'), { timeout: 90_000, interval: 500 }).not.toBe('');
  await expect
    .poll(async () => Number(await listener.getByTestId('playback-stats').getAttribute('data-played')), {
      timeout: 60_000,
      interval: 500,
    })
    .toBeGreaterThanOrEqual(2);
  await expect.poll(() => speaker.locator('[data-testid="transcript"] li').count(), { timeout: 30_000 }).toBeGreaterThan(0);
  const shown = await captionedLog(listener);
  const voiced = await playLog(listener);
  for (const clip of voiced) {
    const line = shown.find((c) => c.index === clip.index && c.language === clip.language);
    expect(line, `caption of ${clip.index}`).toBeDefined();
    expect(line!.atMs).toBeLessThanOrEqual(clip.atMs);
  }
  expect(await listener.locator('[data-testid="caption-line"][data-voiced="true"]').count()).toBeGreaterThanOrEqual(voiced.length);

  await speaker.screenshot({ path: join(ARTIFACTS, 'speaker.png'), fullPage: true });
  await listener.screenshot({ path: join(ARTIFACTS, 'listener.png'), fullPage: true });

  await speaker.getByTestId('stop-button').click();
  await speaker.getByTestId('confirm-end-button').click(); // ending asks first
  await expect.poll(() => listener.getByTestId('session-banner').getAttribute('data-ended'), { timeout: 30_000 }).toBe('true');
  await listener.screenshot({ path: join(ARTIFACTS, 'listener-ended.png'), fullPage: true });

  // Transcripts to take home: the listener's own language; for the speaker, the source and each
  // language that had listeners. Each SRT is downloaded as a user would, by clicking its link.
  const heard = (await playLog(listener)).map((p) => p.text);
  const said = await speaker.locator('[data-testid="transcript"] li').allTextContents();
  for (const [page, language, lines] of [[listener, 'es', heard], [speaker, 'en', said], [speaker, 'es', heard]] as const) {
    if (page === speaker) await speaker.getByTestId('transcript-language-select').selectOption(language);
    if (page === listener && (await listener.getByTestId('more-sheet').isHidden())) await listener.getByTestId('more-button').click();
    await page.getByTestId('download-transcript').click();
    const links = page.getByTestId('transcript-links').locator('a');
    await expect
      .poll(async () => ((await links.count()) ? await links.first().getAttribute('href') : ''), { timeout: 30_000 })
      .toContain(`/transcripts/${language}.txt`);
    expect(await links.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).dataset.format))).toEqual(['txt', 'srt', 'vtt']);
    const [download] = await Promise.all([page.waitForEvent('download'), links.nth(1).click()]);
    const srt = await readFile((await download.path())!, 'utf8');
    expect(srt).toMatch(/^1\r?\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}/);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => srt.includes(line.trim()))).toBe(true);
  }
});

it('a listener with an unknown code gets a clear message, at the code field', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${BASE}/listener/?session=quiet-harbor-9999`);
  await expect.poll(() => page.getByTestId('join-button').isEnabled(), { timeout: 15_000 }).toBe(true);
  await page.getByTestId('join-button').click();
  await expect.poll(() => textOf(page, 'code-error'), { timeout: 15_000 }).toContain('no session with this code');
});
