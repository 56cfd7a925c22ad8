import {
  ProtocolSocket,
  STATE_LABELS,
  byTestId,
  languageName,
  loadConfig,
  normaliseSessionCode,
  offeredLanguages,
  servedTargets,
  show,
  showTranscriptLinks,
  type ServerMessage,
} from '@llt/shared';
import { CaptionHistory, type CaptionText, type Placed } from './captions';
import { exposePlayLogs } from './play-log';
import { ClipPlayer, type AudioContextLike, type Jump } from './player';
import { BANNER_TEXT, Membership, nextBanner, rejoinOnConnect, type BannerKind } from './session';
import { listenerStatus } from './status';

const ERROR_TEXT: Record<string, string> = {
  SESSION_NOT_FOUND: 'There is no session with this code. Check the code and try again.',
  SESSION_ENDED: 'This session has ended.',
  SESSION_EXPIRED: 'This session has ended.',
  SESSION_FULL: 'This session is full.',
  RATE_LIMITED: 'Too many attempts from this network. Wait a minute and try again.',
  UNSUPPORTED_LANGUAGE: 'This session cannot be heard in that language. Choose another one.',
};

const CODE_HINT = 'A session code looks like swift-falcon-0420: two words and four digits.';
const NOTICE_MS = 8000;

const joinPanel = byTestId('join-panel');
const livePanel = byTestId('live-panel');
const form = byTestId<HTMLFormElement>('join-form');
const codeInput = byTestId<HTMLInputElement>('session-code-input');
const codeError = byTestId('code-error');
const languageSelect = byTestId<HTMLSelectElement>('language-select');
const liveLanguage = byTestId<HTMLSelectElement>('live-language-select');
const stateLabel = byTestId('connection-state');
const caption = byTestId('caption');
const original = byTestId('original-caption');
const showOriginal = byTestId<HTMLInputElement>('show-original');
const banner = byTestId('session-banner');
const statusLine = byTestId('listener-status');
const statusText = byTestId('listener-status-text');
const jumpButton = byTestId<HTMLButtonElement>('jump-to-live');
const jumpNotice = byTestId('jump-notice');
const historyList = byTestId('caption-history');
const errorBox = byTestId('error-message');
const pauseButton = byTestId<HTMLButtonElement>('pause-button');
const muteButton = byTestId<HTMLButtonElement>('mute-button');
const volume = byTestId<HTMLInputElement>('volume-slider');
const stats = byTestId('playback-stats');
const title = byTestId('session-title');
const downloadButton = byTestId<HTMLButtonElement>('download-transcript');
const transcriptLinks = byTestId('transcript-links');
const joinButton = byTestId<HTMLButtonElement>('join-button');

const config = await loadConfig();

function fillPicker(select: HTMLSelectElement, served: readonly string[] | undefined): void {
  const keep = select.value;
  select.replaceChildren(...offeredLanguages(served).map((l) => new Option(l.nativeName, l.code)));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

fillPicker(languageSelect, servedTargets(config));
const params = new URLSearchParams(location.search);
codeInput.value = params.get('session') ?? '';
const preferred = params.get('lang') ?? navigator.language.slice(0, 2);
if ([...languageSelect.options].some((o) => o.value === preferred)) languageSelect.value = preferred;

const membership = new Membership();
const history = new CaptionHistory(historyList);
let bannerKind: BannerKind = 'none';
let session: 'active' | 'paused' | 'suspended' = 'active';
let joined = false;
let ended = false;
let switchingTo: string | null = null;
let transcriptSession = ''; // the session whose transcript the button asks for, after the end too
let played = 0;
let jumped = 0;
let player: ClipPlayer | null = null;
let gain: GainNode | null = null;
let noticeTimer: number | undefined;
// Each played clip, each received one and each jump, for the e2e tests (play-log.ts).
const { __playLog: playLog, __received: received, __captioned: captioned, __jumps: jumps } = exposePlayLogs(window);

function showError(text: string | null): void {
  errorBox.textContent = text ?? '';
  show(errorBox, Boolean(text));
}

function showCodeError(text: string | null): void {
  codeError.textContent = text ?? '';
  show(codeError, Boolean(text));
  codeInput.setAttribute('aria-invalid', String(Boolean(text)));
}

function showBanner(kind: BannerKind): void {
  bannerKind = kind;
  const text = BANNER_TEXT[kind];
  banner.textContent = text ?? '';
  banner.dataset.state = kind;
  if (kind === 'ended' || kind === 'speakerGone') banner.dataset.ended = 'true';
  else delete banner.dataset.ended;
  show(banner, Boolean(text));
}

function refresh(): void {
  const status = listenerStatus({
    joined,
    ended,
    connection: socket.state,
    session,
    switchingTo,
    listenerPaused: player?.paused ?? false,
    heardAny: played > 0,
    behindSeconds: player?.queuedSeconds ?? 0,
  });
  statusText.textContent = status.text;
  statusLine.dataset.state = status.kind;
  show(jumpButton, status.canJump);
  downloadButton.disabled = played === 0; // enabled once there is something to download
  const queued = player ? player.queuedSeconds.toFixed(1) : '0.0';
  stats.textContent = `${played} clips played · ${jumped} skipped to catch up · ${queued} s of speech queued`;
  stats.dataset.played = String(played);
}

function notice(jump: Jump): void {
  jumps.push(jump);
  jumped += jump.skipped.length;
  jumpNotice.textContent =
    jump.why === 'paused'
      ? `Back to live: skipped ${Math.round(jump.seconds)} seconds said while you were paused.`
      : `Skipped ${Math.round(jump.seconds)} seconds to catch up with the speaker.`;
  show(jumpNotice, true);
  window.clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => show(jumpNotice, false), NOTICE_MS);
  refresh();
}

function captionText(message: { index: number; language: string; text: string; sourceText: string }): CaptionText {
  return { index: message.index, language: message.language, text: message.text, sourceText: message.sourceText };
}

/** A line is in the history; the big caption shows the newest line, which may be ahead of the voice. */
function showCaption({ line, added }: Placed): void {
  if (added) captioned.push({ index: line.index, language: line.language, atMs: Date.now() });
  const latest = history.book.latest;
  caption.textContent = latest?.text ?? '';
  original.textContent = latest?.sourceText ?? '';
}

async function fetchClip(url: string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`clip ${response.status}`);
  return response.arrayBuffer();
}

function startAudio(): void {
  // Created inside the tap: browsers (iOS in particular) allow sound only from a gesture.
  const context = new AudioContext({ latencyHint: 'playback' });
  gain = context.createGain();
  gain.connect(context.destination);
  player = new ClipPlayer({
    context: context as unknown as AudioContextLike,
    destination: gain,
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
  void context.resume();
  setInterval(refresh, 1000);
}

const socket = new ProtocolSocket({
  url: () => config.webSocketUrl,
  // A new connection has no session: join again (after a reconnect or the renewal, too),
  // with the last rejoin token so that the server does not count it as a new listener.
  onConnected: rejoinOnConnect(membership),
});
socket.onState((state) => {
  stateLabel.textContent = STATE_LABELS[state] ?? state;
  stateLabel.dataset.state = state;
  refresh();
});
socket.onMessage(handle);

function handle(message: ServerMessage): void {
  membership.absorb(message);
  const kind = nextBanner(bannerKind, message);
  if (kind !== bannerKind) showBanner(kind);
  switch (message.type) {
    case 'sessionJoined':
      showError(null);
      joined = true;
      session = message.status;
      fillPicker(liveLanguage, message.languages);
      liveLanguage.value = membership.language;
      title.textContent = message.title || `Session ${message.sessionId}`;
      show(joinPanel, false);
      show(livePanel, true);
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
    case 'translatedText':
      if (message.language === membership.language) {
        showCaption(history.caption(captionText(message)));
      }
      break;
    case 'translatedAudio':
      if (message.language === membership.language) {
        received.push({ index: message.index, language: message.language, startMs: message.startMs, atMs: Date.now() });
        player?.add(message);
      }
      break;
    case 'sessionEnded':
      ended = true;
      transcriptSession = membership.sessionId;
      membership.leave(); // nothing to re-join on a reconnect
      break;
    case 'transcriptReady':
      downloadButton.textContent = 'Download transcript';
      showTranscriptLinks(transcriptLinks, message.urls, `Transcript (${languageName(message.language)})`);
      break;
    case 'error':
      if (message.code === 'TRANSLATION_UNAVAILABLE' && typeof message.index === 'number') {
        if (message.language === membership.language) player?.unavailable(message.index);
      } else if (message.action === 'getTranscript') {
        downloadButton.textContent = 'Download transcript';
        showError(message.code === 'NO_TRANSCRIPT' ? 'Nothing has been said in your language yet.' : message.message);
      } else {
        showError(ERROR_TEXT[message.code] ?? message.message);
        if (message.action === 'joinSession') {
          membership.leave();
          joined = false;
        }
      }
      break;
    default:
      break;
  }
  refresh();
}

codeInput.addEventListener('input', () => showCodeError(null)); // the error clears as the user types

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = normaliseSessionCode(codeInput.value);
  if (!code || !membership.choose(code, languageSelect.value)) {
    showCodeError(CODE_HINT);
    codeInput.focus();
    return;
  }
  codeInput.value = membership.sessionId;
  if (!player) startAudio();
  showCodeError(null);
  showError(null);
  const join = membership.join();
  if (socket.state === 'closed') socket.start();
  else if (join) socket.send(join);
});

// The page's own handler is in place (the config came first): a tap now joins.
joinButton.disabled = false;

liveLanguage.addEventListener('change', () => {
  const language = liveLanguage.value;
  membership.language = language;
  // The old language stops at once, with no caption of a clip that will not be heard.
  player?.reset();
  history.clearCurrent();
  history.dropUnvoiced();
  caption.textContent = '';
  original.textContent = '';
  switchingTo = languageName(language);
  socket.send({ action: 'switchLanguage', targetLanguage: language });
  document.documentElement.lang = language;
  refresh();
});

jumpButton.addEventListener('click', () => player?.jumpToLive('listener'));

downloadButton.addEventListener('click', () => {
  const sessionId = membership.sessionId || transcriptSession;
  if (!sessionId) return;
  downloadButton.textContent = 'Preparing the transcript…';
  socket.send({ action: 'getTranscript', sessionId, language: membership.language });
});

pauseButton.addEventListener('click', () => {
  if (!player) return;
  if (player.paused) {
    player.resume();
    pauseButton.textContent = 'Pause';
  } else {
    player.pause();
    history.clearCurrent();
    pauseButton.textContent = 'Resume';
  }
  refresh();
});

muteButton.addEventListener('click', () => {
  if (!gain) return;
  const muted = muteButton.getAttribute('aria-pressed') !== 'true';
  muteButton.setAttribute('aria-pressed', String(muted));
  muteButton.textContent = muted ? 'Unmute' : 'Mute';
  gain.gain.value = muted ? 0 : Number(volume.value);
});

volume.addEventListener('input', () => {
  if (gain && muteButton.getAttribute('aria-pressed') !== 'true') gain.gain.value = Number(volume.value);
});

showOriginal.addEventListener('change', () => {
  show(original, showOriginal.checked);
  historyList.classList.toggle('with-original', showOriginal.checked);
});
document.title = `Live translation · ${languageName(languageSelect.value)}`;
refresh();
