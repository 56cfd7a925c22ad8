// The listener keeps time with a long talk, and its states in plain words, in Debian's
// Chromium against the local runner:
//   LONG_MIC_WAV   a 4-minute committed capture (tests/fixtures/captures/en-talk-4min) as the microphone
//   STATES_MIC_WAV the 79 s keynote capture: pause and resume, language switches, the end
import type { Browser } from 'playwright-core';
import { afterEach, expect, it } from 'vitest';
import {
  endTalk,
  jumpLog,
  launchWithMicrophone,
  openTalk,
  playLog,
  receivedLog,
  screenshot,
  textOf,
} from './harness';

let browser: Browser | null = null;
afterEach(async () => {
  await browser?.close();
  browser = null;
});

// How far behind the talk a clip was heard: from the moment its sentence started (the talk's
// clock starts when the speaker presses start) to the moment it began to play.
type Heard = { atMs: number; startMs: number | null; durationMs: number | null };
const lagOf = (startedAt: number) => (p: Heard) => p.atMs - startedAt - (p.startMs ?? 0);
// How much the lag grew from the talk's first clip to its last, on the least-squares line
// through every clip's lag: one clip's lag also holds its sentence's length and the wait behind
// the clip before it (seconds apart from one clip to the next), a drift shows in the line.
function drift(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const slope =
    points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return slope * (points[n - 1]!.x - points[0]!.x);
}

it.skipIf(!process.env.LONG_MIC_WAV)(
  'a Spanish listener keeps time with a 4-minute talk: no clip dropped, no drift',
  async () => {
    browser = await launchWithMicrophone(process.env.LONG_MIC_WAV!);
    const talk = await openTalk(browser, 'Live translation for events');
    const startedAt = Date.now();
    await talk.speaker.getByTestId('start-button').click();
    const lagMs = lagOf(startedAt);
    const talkSeconds = Number(process.env.LONG_MIC_SECONDS ?? 262);
    await expect.poll(() => talk.listener.getByTestId('listener-status').getAttribute('data-state'), { timeout: 60_000 }).toBe('live');
    await talk.listener.waitForTimeout(talkSeconds * 1000 - 20_000);
    await screenshot(talk.listener, 'listener-live.png');
    await endTalk(talk);
    // The last clips: everything received has been played, or nothing more comes.
    try {
      await expect
        .poll(async () => (await playLog(talk.listener)).length >= (await receivedLog(talk.listener)).length, { timeout: 60_000 })
        .toBe(true);
    } catch (error) {
      // Say which clips: received but never played, received twice, or skipped by a jump.
      const playedNow = new Set((await playLog(talk.listener)).map((p) => p.index));
      const receivedNow = (await receivedLog(talk.listener)).map((r) => r.index);
      console.log(
        `not played: ${receivedNow.filter((i) => !playedNow.has(i)).join(' ') || 'none'}; ` +
          `received twice: ${receivedNow.filter((i, n) => receivedNow.indexOf(i) !== n).join(' ') || 'none'}; ` +
          `jumps: ${JSON.stringify(await jumpLog(talk.listener))}`,
      );
      throw error;
    }

    const played = await playLog(talk.listener);
    const received = await receivedLog(talk.listener);
    const jumps = await jumpLog(talk.listener);
    const heard = played.map((p) => p.index);
    const lags = played.map(lagMs);
    const grew = drift(played.map((p, i) => ({ x: p.startMs ?? 0, y: lags[i]! })));
    const afterEnd = played.map((p, i) => lags[i]! - (p.durationMs ?? 0));
    // The listener's own part: from a clip's arrival to its playing. It grows if the speech is
    // longer than the talk (clips queue up); the offline engines' pace on a shared machine,
    // which moves the whole lag, does not move it.
    const arrived = new Map<number, number>();
    for (const r of received) if (!arrived.has(r.index)) arrived.set(r.index, r.atMs);
    const queued = played.map((p) => p.atMs - (arrived.get(p.index) ?? p.atMs));
    const queueGrew = drift(played.map((p, i) => ({ x: p.startMs ?? 0, y: queued[i]! })));
    console.log(
      `4-minute talk: ${received.length} clips received, ${played.length} played, ${jumps.length} jumps; lag from a ` +
        `sentence's start: after the first clip ${lags[0]} ms, at the end ${lags.at(-1)} ms, max ${Math.max(...lags)} ms, ` +
        `drift over the talk ${Math.round(grew)} ms (of it, arrival to playing: ${Math.round(queueGrew)} ms, ` +
        `max wait ${Math.max(...queued)} ms); from a sentence's end: first ${afterEnd[0]} ms, last ${afterEnd.at(-1)} ms; ` +
        `all from the start: ${lags.join(' ')}`,
    );
    expect(received.length).toBeGreaterThan(30);
    expect(jumps).toEqual([]);
    expect([...heard].sort((a, b) => a - b)).toEqual([...new Set(received.map((r) => r.index))].sort((a, b) => a - b));
    expect(heard).toEqual([...heard].sort((a, b) => a - b)); // in talk order
    // No drift: over the whole talk the time from a clip's arrival to its playing grows by at most
    // 1.5 s (it may shrink: a backlog is caught up, which is the player doing its job). The lag from
    // the speaker (`grew`) is reported, not asserted: it also holds the offline engines' pace on this
    // machine, which is a benchmark's figure, not the product's behaviour.
    expect(queueGrew).toBeLessThanOrEqual(1500);
    // The caption history holds every line heard, the last one highlighted.
    expect(await talk.listener.getByTestId('caption-line').count()).toBe(played.length);
    await expect.poll(() => talk.listener.locator('[data-testid="caption-line"].current').count()).toBeLessThanOrEqual(1);
  },
  420_000,
);

it.skipIf(!process.env.STATES_MIC_WAV)(
  'a listener is told what is happening: waiting, paused and back to live, switching, the end, the transcript',
  async () => {
    browser = await launchWithMicrophone(process.env.STATES_MIC_WAV!);
    const talk = await openTalk(browser, 'Keynote');
    const { listener, speaker } = talk;
    expect(await listener.getByTestId('listener-status').getAttribute('data-state')).toBe('waiting');
    expect(await textOf(listener, 'listener-status-text')).toMatch(/^Esperando al ponente/); // in the caption language
    await screenshot(listener, 'listener-waiting.png');

    await speaker.getByTestId('start-button').click();
    await expect.poll(async () => (await playLog(listener)).length, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(1);

    // Pause for 10 s: the captions stop with the audio, then one jump back to live.
    await listener.getByTestId('pause-button').click();
    const heardAtPause = (await playLog(listener)).length;
    await screenshot(listener, 'listener-paused.png');
    await listener.waitForTimeout(10_000);
    expect((await playLog(listener)).length).toBe(heardAtPause);
    expect(await listener.getByTestId('listener-status').getAttribute('data-state')).toBe('listenerPaused');
    await listener.getByTestId('pause-button').click();
    await expect.poll(() => listener.getByTestId('jump-notice').isVisible(), { timeout: 5_000 }).toBe(true);
    await screenshot(listener, 'listener-jumped-to-live.png');
    const jumps = await jumpLog(listener);
    expect(jumps).toHaveLength(1);
    expect(jumps[0]!.why).toBe('paused');

    // Switching language: the old language's caption goes at once and nothing is dropped (the
    // player's Vitest cases check that the old queue stops and the new clip starts on arrival).
    // When the new language's first clip comes depends on the next sentence: not timed here.
    await listener.getByTestId('live-language-select').selectOption('fr');
    expect(await textOf(listener, 'caption')).toBe('');
    expect(await listener.getByTestId('listener-status').getAttribute('data-state')).toBe('switching');
    await screenshot(listener, 'listener-switching.png');
    await listener.getByTestId('live-language-select').selectOption('es');
    expect(await jumpLog(listener)).toHaveLength(1); // no drop anywhere else

    // Ending asks first; afterwards the speaker can start again.
    await speaker.getByTestId('stop-button').click();
    expect(await speaker.getByTestId('end-confirm').isVisible()).toBe(true);
    await screenshot(speaker, 'speaker-confirm-end.png');
    await speaker.getByTestId('cancel-end-button').click();
    expect(await textOf(speaker, 'broadcast-state')).toBe('Broadcasting live');
    await endTalk(talk);
    // The end reaches the listener and the speaker in no set order (one post each).
    await expect.poll(() => speaker.getByTestId('new-session-button').isVisible(), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => listener.getByTestId('listener-status').getAttribute('data-state'), { timeout: 30_000 }).toBe('ended');
    await screenshot(speaker, 'speaker-ended.png');
    await screenshot(listener, 'listener-ended-state.png');

    // Transcripts to take home: the listener's own language, and every language for the speaker.
    for (const [page, language] of [[listener, 'es'], [speaker, 'es']] as const) {
      if (page === speaker) await speaker.getByTestId('transcript-language-select').selectOption(language);
      else await listener.getByTestId('more-button').click(); // the download is under "More"
      await page.getByTestId('download-transcript').click();
      await expect.poll(() => page.getByTestId('transcript-links').isVisible(), { timeout: 30_000 }).toBe(true);
      const links = page.getByTestId('transcript-links').locator('a');
      expect(await links.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).dataset.format))).toEqual(['txt', 'srt', 'vtt']);
      const srt = await page.request.get((await links.nth(1).getAttribute('href'))!);
      expect(srt.ok()).toBe(true);
      const body = await srt.text();
      expect(body).toMatch(/^1\r?\n\d\d:\d\d:\d\d,\d{3} --> /);
      const heardSpanish = (await playLog(listener)).filter((p) => p.language === 'es').map((p) => p.text);
      expect(heardSpanish.some((text) => body.includes(text))).toBe(true);
    }
    await screenshot(speaker, 'speaker-transcript.png');
  },
  240_000,
);

it('the join page: a code in capitals is taken, a wrong one gets one inline error that clears', async () => {
  browser = await launchWithMicrophone(process.env.STATES_MIC_WAV ?? process.env.MIC_WAV ?? '/dev/null');
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await page.goto(`${process.env.APP_BASE_URL ?? 'http://127.0.0.1:8080'}/listener/`);
  // Only the languages the server serves are offered (the local engines serve a few), once the
  // page has read them from /config.json.
  const options = page.getByTestId('language-select').locator('option');
  await expect.poll(() => options.count(), { timeout: 15_000 }).toBeGreaterThan(0);
  const offered = await options.evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(offered).toContain('es');
  expect(offered).not.toContain('ja');
  await page.getByTestId('session-code-input').fill('not a code');
  await page.getByTestId('join-button').click();
  expect(await page.getByTestId('code-error').isVisible()).toBe(true);
  await page.getByTestId('session-code-input').fill('  QUIET-HARBOR-9999 ');
  expect(await page.getByTestId('code-error').isVisible()).toBe(false); // cleared as the user types
  await page.getByTestId('join-button').click();
  await expect.poll(() => textOf(page, 'code-error'), { timeout: 15_000 }).toContain('no session with this code');
  expect(await page.getByTestId('session-code-input').inputValue()).toBe('quiet-harbor-9999');
  const favicon = await page.request.get(`${process.env.APP_BASE_URL ?? 'http://127.0.0.1:8080'}/favicon.ico`);
  expect(favicon.ok()).toBe(true);
});
