import {
  NO_SPACES,
  Provisional,
  ProtocolSocket,
  byTestId,
  languageName,
  loadConfig,
  normaliseSessionCode,
  offeredLanguages,
  servedTargets,
  show,
  type ServerMessage,
} from '@llt/shared';
import { Announcer, liveRegion } from './announce';
import { CaptionHistory, type CaptionText, type Placed } from './captions';
import { translator, uiLanguage, type MessageKey, type Translate } from './i18n';
import { Listening } from './listening';
import { applyWords } from './page-words';
import { exposePlayLogs } from './play-log';
import { ClipPlayer, type AudioContextLike, type Jump } from './player';
import { wireLook } from './look';
import { Preferences, TEXT_SIZES } from './preferences';
import { bannerKey, Membership, nextBanner, rejoinOnConnect, type BannerKind } from './session';
import { listenerStatus, repeatsBanner } from './status';
import { TranscriptDownload } from './transcript';
import { Sound } from './sound';
import { ScreenAwake } from './wake-lock';

const NOTICE_MS = 8000;
// After the end, the last clips may still be on their way: "ended" waits this long after the last one.
const LAST_CLIP_GRACE_MS = 3000;
const JOIN_ERRORS = new Set(['SESSION_NOT_FOUND', 'SESSION_ENDED', 'SESSION_EXPIRED', 'SESSION_FULL', 'RATE_LIMITED', 'UNSUPPORTED_LANGUAGE']);

const el = {
  joinPanel: byTestId('join-panel'),
  livePanel: byTestId('live-panel'),
  form: byTestId<HTMLFormElement>('join-form'),
  codeInput: byTestId<HTMLInputElement>('session-code-input'),
  codeError: byTestId('code-error'),
  languageSelect: byTestId<HTMLSelectElement>('language-select'),
  captionsOnlyJoin: byTestId<HTMLInputElement>('captions-only-join'),
  joinButton: byTestId<HTMLButtonElement>('join-button'),
  liveLanguage: byTestId<HTMLSelectElement>('live-language-select'),
  stateLabel: byTestId('connection-state'),
  caption: byTestId('caption'),
  original: byTestId('original-caption'),
  provisional: byTestId('provisional-caption'),
  showOriginal: byTestId<HTMLInputElement>('show-original'),
  banner: byTestId('session-banner'),
  statusLine: byTestId('listener-status'),
  statusText: byTestId('listener-status-text'),
  jumpButton: byTestId<HTMLButtonElement>('jump-to-live'),
  resumeAudio: byTestId<HTMLButtonElement>('resume-audio'),
  jumpNotice: byTestId('jump-notice'),
  historyList: byTestId('caption-history'),
  errorBox: byTestId('error-message'),
  pauseButton: byTestId<HTMLButtonElement>('pause-button'),
  muteButton: byTestId<HTMLButtonElement>('mute-button'),
  volume: byTestId<HTMLInputElement>('volume-slider'),
  moreButton: byTestId<HTMLButtonElement>('more-button'),
  moreSheet: byTestId('more-sheet'),
  highContrast: byTestId<HTMLInputElement>('high-contrast'),
  captionsOnly: byTestId<HTMLInputElement>('captions-only'),
  stats: byTestId('playback-stats'),
  title: byTestId('session-title'),
  downloadButton: byTestId<HTMLButtonElement>('download-transcript'),
};
const textSizeInputs = TEXT_SIZES.map((size) => byTestId<HTMLInputElement>(`text-size-${size}`));

const config = await loadConfig();
const prefs = new Preferences(globalThis.localStorage ?? null);

const membership = new Membership();
let words: Translate = translator('en');
let secondsFormat = new Intl.NumberFormat('en'); // the page's language's way of writing 2.5 s
const history = new CaptionHistory(el.historyList, (language) => words('languageMarker', { language: languageName(language) }));
const announcer = new Announcer(liveRegion(byTestId('caption-announcer')));
const awake = new ScreenAwake(navigator.wakeLock, () => document.visibilityState === 'visible');
const sound = new Sound({ mute: el.muteButton, volume: el.volume }, label, () => refresh());
const listening = new Listening(makePlayer, prefs.captionsOnly);
let bannerKind: BannerKind = 'none';
let session: 'active' | 'paused' | 'suspended' = 'active';
let joined = false;
let ended = false;
let switchingTo: string | null = null;
let title = '';
const transcript = new TranscriptDownload(
  { button: el.downloadButton, links: byTestId('transcript-links'), note: byTestId('transcript-note'), error: byTestId('transcript-error') },
  () => words,
  label,
);
let played = 0;
let jumped = 0;
let lastClipAt = 0;
let noticeTimer: number | undefined;
// Each played clip, each received one and each jump, for the e2e tests (play-log.ts).
const { __playLog: playLog, __received: received, __captioned: captioned, __jumps: jumps } = exposePlayLogs(window);

// -- words -------------------------------------------------------------------------

/** An element whose words change with the state (Pause/Resume): kept as a key, so that a
 * change of the page's language redraws it too. */
function label(element: HTMLElement, key: MessageKey): void {
  element.dataset.i18n = key;
  element.textContent = words(key);
}

/** The page's language: the caption language once chosen, else the browser's (src/i18n). */
function setPageLanguage(captionLanguage: string | null): void {
  const code = uiLanguage(captionLanguage, navigator.languages ?? [navigator.language]);
  words = translator(code);
  secondsFormat = new Intl.NumberFormat(code, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  document.documentElement.lang = code; // screen readers read the page with its rules
  applyWords(document, words);
  document.title = words('pageTitle', { language: languageName(captionLanguage ?? code) });
  drawTitle();
  showBanner(bannerKind);
  refresh();
}

function drawTitle(): void {
  el.title.textContent = title || (membership.sessionId ? words('sessionFallbackTitle', { code: membership.sessionId }) : '');
}

function errorText(code: string): string {
  return words(`errors.${code}` as MessageKey, { defaultValue: words('errors.unknown') });
}

// -- preferences ------------------------------------------------------------------

function applyCaptionsOnly(on: boolean): void {
  document.body.classList.toggle('captions-only', on);
  el.captionsOnly.checked = on;
  el.captionsOnlyJoin.checked = on;
  label(el.joinButton, on ? 'joinCaptionsOnly' : 'tapToStart');
}

// -- what the page shows ---------------------------------------------------------------

function showError(text: string | null): void {
  el.errorBox.textContent = text ?? '';
  show(el.errorBox, Boolean(text));
}

function showCodeError(text: string | null): void {
  el.codeError.textContent = text ?? '';
  show(el.codeError, Boolean(text));
  el.codeInput.setAttribute('aria-invalid', String(Boolean(text)));
}

/** The last clips are still arriving or playing after the speaker ended. */
function finishing(): boolean {
  return ended && (listening.playing || Date.now() - lastClipAt < LAST_CLIP_GRACE_MS);
}

function showBanner(kind: BannerKind): void {
  bannerKind = kind;
  const key = bannerKey(kind);
  el.banner.dataset.state = kind;
  if (kind === 'ended' || kind === 'speakerGone') el.banner.dataset.ended = 'true';
  else delete el.banner.dataset.ended;
  // The end is said once the last sentences were heard; until then the status line says they play.
  const held = ended && finishing();
  el.banner.textContent = key ? words(key) : '';
  show(el.banner, Boolean(key) && !held);
}

function refresh(): void {
  const player = listening.player;
  const isFinishing = finishing();
  if (ended && !isFinishing) finish(); // before the status line: the banner takes over from it
  const status = listenerStatus({
    joined,
    ended,
    finishing: isFinishing,
    connection: socket.state,
    session,
    switchingTo,
    listenerPaused: player?.paused ?? false,
    heardAny: played > 0 || history.book.lines.length > 0,
    behindSeconds: player?.queuedSeconds ?? 0,
  });
  el.statusText.textContent = words(status.key, status.values);
  el.statusLine.dataset.state = status.kind;
  show(el.statusLine, !(repeatsBanner(status.kind) && !el.banner.hidden));
  show(el.jumpButton, status.canJump);
  show(el.resumeAudio, audioSuspended());
  el.downloadButton.disabled = history.book.lines.length === 0; // enabled once there is something to download
  drawStats();
}

function drawStats(): void {
  const queued = listening.player?.queuedSeconds ?? 0;
  el.stats.textContent = words('stats', { played, skipped: jumped, queued: secondsFormat.format(queued) });
  el.stats.dataset.played = String(played);
}

/** The browser stopped the sound (a call, the phone locked) while the listener was listening. */
function audioSuspended(): boolean {
  const player = listening.player;
  return Boolean(player && !player.paused && !ended && sound.suspended);
}

/** The end, once the last clips were heard: one message, and no control that no longer applies. */
function finish(): void {
  if (el.livePanel.dataset.finished === 'true') return;
  el.livePanel.dataset.finished = 'true';
  for (const control of [el.pauseButton, el.muteButton, el.volume, el.liveLanguage, el.captionsOnly, el.jumpButton]) {
    control.disabled = true;
  }
  history.clearCurrent();
  void awake.want(false);
  showBanner(bannerKind);
}

function notice(jump: Jump): void {
  jumps.push(jump);
  jumped += jump.skipped.length;
  const count = Math.round(jump.seconds);
  el.jumpNotice.textContent = words(jump.why === 'paused' ? 'notice.paused' : 'notice.behind', { count });
  show(el.jumpNotice, true);
  window.clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => show(el.jumpNotice, false), NOTICE_MS);
  refresh();
}

function captionText(message: { index: number; language: string; text: string; sourceText: string }): CaptionText {
  return { index: message.index, language: message.language, text: message.text, sourceText: message.sourceText };
}

/** A line is in the history; the big caption shows the newest line (maybe ahead of the voice), once. */
function showCaption({ line, added }: Placed): void {
  if (added) captioned.push({ index: line.index, language: line.language, atMs: Date.now() });
  announcer.announce(line);
  transcript.heard(line.language);
  const latest = history.book.latest;
  el.caption.textContent = latest?.text ?? '';
  el.caption.lang = latest?.language ?? '';
  el.original.textContent = latest?.sourceText ?? '';
  history.showInCaption(latest);
}

// -- audio ---------------------------------------------------------------------

async function fetchClip(url: string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`clip ${response.status}`);
  return response.arrayBuffer();
}

/** Made inside a tap: browsers (iOS in particular) allow sound only from a gesture. */
function makePlayer(): ClipPlayer {
  const { context, destination } = sound.start();
  return new ClipPlayer({
    context: context as unknown as AudioContextLike,
    destination,
    fetchClip,
    timers: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
    onClipStart: (clip) => {
      played += 1;
      switchingTo = null;
      showCaption(history.voice(captionText({ ...clip, language: membership.language })));
      playLog.push({
        index: clip.index,
        language: membership.language,
        text: clip.text,
        atMs: Date.now(),
        startMs: clip.startMs ?? null,
        durationMs: clip.durationMs ?? null,
      });
      refresh();
    },
    onJump: notice,
  });
}

// -- the server's messages ---------------------------------------------------------------

const socket = new ProtocolSocket({
  url: () => config.webSocketUrl,
  // A new connection has no session: join again (after a reconnect or the renewal, too),
  // with the last rejoin token so that the server does not count it as a new listener.
  onConnected: rejoinOnConnect(membership),
});
socket.onState((state) => {
  label(el.stateLabel, `connection.${state}` as MessageKey);
  el.stateLabel.dataset.state = state;
  refresh();
});
socket.onMessage(handle);

// The running utterance's preview (provisionalCaption), until its caption replaces it.
const provisional = new Provisional();

function showProvisional(changed: boolean): void {
  if (!changed) return;
  const text = provisional.text(NO_SPACES.has(membership.language) ? '' : ' ');
  el.provisional.textContent = text;
  el.provisional.lang = membership.language;
  el.provisional.hidden = text === '';
}

function joinedSession(message: Extract<ServerMessage, { type: 'sessionJoined' }>): void {
  provisional.reset();
  showProvisional(true);
  showError(null);
  showCodeError(null);
  joined = true;
  session = message.status;
  fillPicker(el.liveLanguage, message.languages);
  el.liveLanguage.value = membership.language;
  title = message.title;
  transcript.remember(membership.sessionId);
  show(el.joinPanel, false);
  show(el.livePanel, true);
  document.body.classList.add('listening');
  setPageLanguage(membership.language);
  void awake.want(true);
}

function failed(message: Extract<ServerMessage, { type: 'error' }>): void {
  if (message.code === 'TRANSLATION_UNAVAILABLE' && typeof message.index === 'number') {
    if (message.language === membership.language) listening.player?.unavailable(message.index);
  } else if (message.action === 'getTranscript') {
    transcript.failed(errorText(message.code));
  } else if (message.action === 'joinSession' && !el.joinPanel.hidden) {
    membership.leave();
    joined = false;
    showCodeError(errorText(JOIN_ERRORS.has(message.code) ? message.code : 'unknown'));
    el.codeInput.focus();
  } else if (message.action !== 'joinSession') {
    showError(errorText(message.code));
  }
}

function handle(message: ServerMessage): void {
  membership.absorb(message);
  const kind = nextBanner(bannerKind, message);
  if (kind !== bannerKind) showBanner(kind);
  switch (message.type) {
    case 'sessionJoined':
      joinedSession(message);
      break;
    case 'sessionPaused':
      session = 'paused';
      break;
    case 'sessionResumed':
      session = 'active';
      break;
    case 'sessionSuspended':
      session = 'suspended';
      break;
    case 'provisionalCaption':
      if (message.language === membership.language) showProvisional(provisional.clause(message.index, message.seq, message.text));
      break;
    case 'translatedText':
      if (message.language === membership.language) {
        showProvisional(provisional.final(message.index));
        showCaption(history.caption(captionText(message)));
      }
      break;
    case 'translatedAudio':
      if (message.language === membership.language) {
        showProvisional(provisional.final(message.index));
        received.push({ index: message.index, language: message.language, startMs: message.startMs, atMs: Date.now() });
        lastClipAt = Date.now();
        listening.clip(message);
      }
      break;
    case 'sessionEnded':
      ended = true;
      transcript.remember(membership.sessionId);
      membership.leave(); // nothing to re-join on a reconnect
      el.pauseButton.disabled = true; // nothing to pause or switch any more; the last clips play out
      el.liveLanguage.disabled = true;
      showBanner(kind);
      break;
    case 'transcriptReady':
      transcript.ready(message);
      break;
    case 'error':
      failed(message);
      break;
    default:
      break;
  }
  refresh();
}

// -- the listener's controls ------------------------------------------------------------

function fillPicker(select: HTMLSelectElement, served: readonly string[] | undefined): void {
  const keep = select.value;
  select.replaceChildren(...offeredLanguages(served).map((l) => new Option(l.nativeName, l.code)));
  for (const option of select.options) option.lang = option.value; // each name in its own language
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

el.codeInput.addEventListener('input', () => showCodeError(null)); // the error clears as the user types

el.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = normaliseSessionCode(el.codeInput.value);
  if (!code || !membership.choose(code, el.languageSelect.value)) {
    showCodeError(words('codeHint'));
    el.codeInput.focus();
    return;
  }
  el.codeInput.value = membership.sessionId;
  listening.start();
  showCodeError(null);
  showError(null);
  const join = membership.join();
  if (socket.state === 'closed') socket.start();
  else if (join) socket.send(join);
});

el.languageSelect.addEventListener('change', () => setPageLanguage(el.languageSelect.value));

el.captionsOnlyJoin.addEventListener('change', () => {
  prefs.captionsOnly = el.captionsOnlyJoin.checked;
  listening.setCaptionsOnly(el.captionsOnlyJoin.checked);
  applyCaptionsOnly(el.captionsOnlyJoin.checked);
});

el.captionsOnly.addEventListener('change', () => {
  prefs.captionsOnly = el.captionsOnly.checked;
  listening.setCaptionsOnly(el.captionsOnly.checked); // a tap: the voice may start here
  applyCaptionsOnly(el.captionsOnly.checked);
  history.clearCurrent();
  refresh();
});

el.liveLanguage.addEventListener('change', () => {
  const language = el.liveLanguage.value;
  membership.language = language;
  // The old language stops at once, with no caption of a clip that will not be heard.
  listening.player?.reset();
  history.clearCurrent();
  history.dropUnvoiced();
  el.caption.textContent = '';
  el.original.textContent = '';
  history.showInCaption(undefined);
  switchingTo = languageName(language);
  socket.send({ action: 'switchLanguage', targetLanguage: language });
  setPageLanguage(language);
});

el.jumpButton.addEventListener('click', () => listening.player?.jumpToLive('listener'));

el.resumeAudio.addEventListener('click', () => {
  void sound.resume().then(refresh); // a tap: the browser lets the sound start again
});

el.moreButton.addEventListener('click', () => {
  const open = el.moreSheet.hidden;
  show(el.moreSheet, open);
  el.moreButton.setAttribute('aria-expanded', String(open));
});

el.downloadButton.addEventListener('click', () => transcript.request(socket, membership.language));

el.pauseButton.addEventListener('click', () => {
  const player = listening.player;
  if (!player) return;
  if (player.paused) {
    player.resume();
    label(el.pauseButton, 'pause');
    void awake.want(true);
  } else {
    player.pause();
    history.clearCurrent();
    label(el.pauseButton, 'resume');
    void awake.want(false);
  }
  refresh();
});

el.showOriginal.addEventListener('change', () => {
  show(el.original, el.showOriginal.checked);
  history.relayout(() => el.historyList.classList.toggle('with-original', el.showOriginal.checked));
});


document.addEventListener('visibilitychange', () => {
  void awake.visibilityChanged();
  refresh();
});

// -- start -------------------------------------------------------------------------

fillPicker(el.languageSelect, servedTargets(config));
const params = new URLSearchParams(location.search);
el.codeInput.value = params.get('session') ?? '';
const preferred = params.get('lang') ?? navigator.language.slice(0, 2);
if ([...el.languageSelect.options].some((o) => o.value === preferred)) el.languageSelect.value = preferred;
wireLook(prefs, { textSizes: textSizeInputs, highContrast: el.highContrast });
applyCaptionsOnly(prefs.captionsOnly);
setPageLanguage(params.get('lang'));
setInterval(refresh, 1000);
// The page's own handler is in place (the config came first): a tap now joins.
el.joinButton.disabled = false;
