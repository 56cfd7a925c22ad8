// What the Playwright tests share: Debian's Chromium with a WAV as the microphone, and a
// speaker page that creates a session and a phone-sized listener page that joins it.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Captioned, PlayLogs, Played, Received } from '../listener-app/src/play-log';
import type { Jump } from '../listener-app/src/player';

export const BASE = process.env.APP_BASE_URL ?? 'http://127.0.0.1:8080';
export const ARTIFACTS = process.env.ARTIFACTS_DIR ?? 'test-results';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchWithMicrophone(wav: string): Promise<Browser> {
  if (!wav) throw new Error('a WAV file for the fake microphone is required');
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      // A listener page sits in the background of a test run: its timers must not be throttled.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--autoplay-policy=no-user-gesture-required',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}%noloop`,
    ],
  });
}

export async function textOf(page: Page, testId: string): Promise<string> {
  return ((await page.getByTestId(testId).textContent()) ?? '').trim();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
}

export interface Talk {
  speaker: Page;
  listener: Page;
  code: string;
}

/** A speaker with a session and a Spanish listener (a phone, its browser in `locale`) who joined
 * it; not broadcasting yet. `beforeJoin` sees the listener's join page first. */
export async function openTalk(
  browser: Browser,
  title: string,
  language = 'es',
  { locale = 'en-US', beforeJoin }: { locale?: string; beforeJoin?: (listener: Page) => Promise<void> } = {},
): Promise<Talk> {
  const speaker = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
  speaker.on('pageerror', (error) => console.error('speaker page error:', error));
  await speaker.goto(`${BASE}/speaker/`);
  await expect.poll(() => textOf(speaker, 'connection-state'), { timeout: 15_000 }).toBe('Connected');
  await speaker.getByTestId('title-input').fill(title);
  await speaker.getByTestId('source-language-select').selectOption('en');
  await speaker.getByTestId('create-session-button').click();
  await expect.poll(() => textOf(speaker, 'session-code'), { timeout: 15_000 }).toMatch(/^[a-z]{3,12}-[a-z]{3,12}-\d{4}$/);
  const code = await textOf(speaker, 'session-code');

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale });
  const listener = await phone.newPage();
  listener.on('pageerror', (error) => console.error('listener page error:', error));
  await listener.goto(`${BASE}/listener/?session=${code}`);
  await expect.poll(() => listener.getByTestId('join-button').isEnabled(), { timeout: 15_000 }).toBe(true);
  await beforeJoin?.(listener);
  await listener.getByTestId('language-select').selectOption(language);
  await listener.getByTestId('join-button').click(); // "Tap to start audio"
  await expect.poll(() => listener.getByTestId('live-panel').isVisible(), { timeout: 15_000 }).toBe(true);
  return { speaker, listener, code };
}

export async function endTalk(talk: Talk): Promise<void> {
  await talk.speaker.getByTestId('stop-button').click();
  await talk.speaker.getByTestId('confirm-end-button').click();
  await expect.poll(() => talk.listener.getByTestId('session-banner').getAttribute('data-ended'), { timeout: 60_000 }).toBe('true');
}

export type { Captioned, Played, Received } from '../listener-app/src/play-log';

export const playLog = (page: Page): Promise<Played[]> => page.evaluate(() => (window as unknown as Partial<PlayLogs>).__playLog ?? []);
export const captionedLog = (page: Page): Promise<Captioned[]> => page.evaluate(() => (window as unknown as PlayLogs).__captioned);
export const receivedLog = (page: Page): Promise<Received[]> => page.evaluate(() => (window as unknown as PlayLogs).__received);
export const jumpLog = (page: Page): Promise<Jump[]> => page.evaluate(() => (window as unknown as PlayLogs).__jumps);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** axe-core's violations on the page as it is now (WCAG 2 A/AA and best practice rules). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core') });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** Fails on a serious or critical violation; returns the count of each impact, for the notes. */
export async function expectAccessible(page: Page, state: string): Promise<Record<string, number>> {
  const violations = await axeViolations(page);
  const byImpact: Record<string, number> = {};
  for (const v of violations) byImpact[v.impact ?? 'none'] = (byImpact[v.impact ?? 'none'] ?? 0) + v.targets.length;
  console.log(`axe ${state}: ${JSON.stringify(byImpact)} ${violations.map((v) => `${v.id}(${v.impact}): ${v.targets.join(', ')}`).join('; ')}`);
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
  return byImpact;
}
