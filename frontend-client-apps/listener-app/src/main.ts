import {
  LANGUAGES,
  ProtocolSocket,
  STATE_LABELS,
  byTestId,
  languageName,
  loadConfig,
  show,
  type ServerMessage,
} from '@llt/shared';
import { ClipPlayer, type AudioContextLike } from './player';
import { BANNER_TEXT, Membership, nextBanner, rejoinOnConnect, type BannerKind } from './session';

const ERROR_TEXT: Record<string, string> = {
  SESSION_NOT_FOUND: 'There is no session with this code. Check the code and try again.',
  SESSION_ENDED: 'This session has ended.',
  SESSION_EXPIRED: 'This session has ended.',
  SESSION_FULL: 'This session is full.',
  RATE_LIMITED: 'Too many attempts from this network. Wait a minute and try again.',
};

const CODE_HINT = 'A session code looks like swift-falcon-0420: two words and four digits.';

const joinPanel = byTestId('join-panel');
const livePanel = byTestId('live-panel');
const form = byTestId<HTMLFormElement>('join-form');
const codeInput = byTestId<HTMLInputElement>('session-code-input');
const languageSelect = byTestId<HTMLSelectElement>('language-select');
const liveLanguage = byTestId<HTMLSelectElement>('live-language-select');
const stateLabel = byTestId('connection-state');
const caption = byTestId('caption');
const original = byTestId('original-caption');
const showOriginal = byTestId<HTMLInputElement>('show-original');
const banner = byTestId('session-banner');
const errorBox = byTestId('error-message');
const pauseButton = byTestId<HTMLButtonElement>('pause-button');
const muteButton = byTestId<HTMLButtonElement>('mute-button');
const volume = byTestId<HTMLInputElement>('volume-slider');
const stats = byTestId('playback-stats');
const title = byTestId('session-title');

for (const select of [languageSelect, liveLanguage]) {
  for (const language of LANGUAGES) select.add(new Option(language.nativeName, language.code));
}
const params = new URLSearchParams(location.search);
codeInput.value = params.get('session') ?? '';
const preferred = params.get('lang') ?? navigator.language.slice(0, 2);
if (LANGUAGES.some((l) => l.code === preferred)) languageSelect.value = preferred;

const membership = new Membership();
let bannerKind: BannerKind = 'none';
let played = 0;
let skipped = 0;
let player: ClipPlayer | null = null;
let gain: GainNode | null = null;

function showError(text: string | null): void {
  errorBox.textContent = text ?? '';
  show(errorBox, Boolean(text));
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

function updateStats(): void {
  stats.textContent = `${played} clips played · ${skipped} skipped · ${player ? player.backlogSeconds.toFixed(1) : '0.0'} s queued`;
  stats.dataset.played = String(played);
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
      caption.textContent = clip.text;
      original.textContent = clip.sourceText;
      updateStats();
    },
    onSkip: () => {
      skipped += 1;
      updateStats();
    },
  });
  void context.resume();
  setInterval(updateStats, 1000);
}

const config = await loadConfig();
const socket = new ProtocolSocket({
  url: () => config.webSocketUrl,
  // A new connection has no session: join again (after a reconnect or the renewal, too),
  // with the last rejoin token so that the server does not count it as a new listener.
  onConnected: rejoinOnConnect(membership),
});
socket.onState((state) => {
  stateLabel.textContent = STATE_LABELS[state] ?? state;
  stateLabel.dataset.state = state;
});
socket.onMessage(handle);

function handle(message: ServerMessage): void {
  membership.absorb(message);
  const kind = nextBanner(bannerKind, message);
  if (kind !== bannerKind) showBanner(kind);
  switch (message.type) {
    case 'sessionJoined':
      showError(null);
      liveLanguage.value = membership.language;
      title.textContent = message.title || `Session ${message.sessionId}`;
      show(joinPanel, false);
      show(livePanel, true);
      break;
    case 'translatedAudio':
      if (message.language === membership.language) player?.add(message);
      break;
    case 'sessionEnded':
      membership.leave(); // nothing to re-join on a reconnect
      break;
    case 'error':
      if (message.code === 'TRANSLATION_UNAVAILABLE' && typeof message.index === 'number') {
        if (message.language === membership.language) player?.unavailable(message.index);
      } else if (message.code === 'UNSUPPORTED_LANGUAGE') {
        showError(`${message.message}`);
      } else {
        showError(ERROR_TEXT[message.code] ?? message.message);
        if (message.action === 'joinSession') membership.leave();
      }
      break;
    default:
      break;
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!membership.choose(codeInput.value, languageSelect.value)) {
    showError(CODE_HINT);
    return;
  }
  codeInput.value = membership.sessionId;
  if (!player) startAudio();
  showError(null);
  const join = membership.join();
  if (socket.state === 'closed') socket.start();
  else if (join) socket.send(join);
});

liveLanguage.addEventListener('change', () => {
  const language = liveLanguage.value;
  membership.language = language;
  player?.reset();
  caption.textContent = '';
  socket.send({ action: 'switchLanguage', targetLanguage: language });
  document.documentElement.lang = language;
});

pauseButton.addEventListener('click', () => {
  if (!player) return;
  if (player.paused) {
    player.resume();
    pauseButton.textContent = 'Pause';
  } else {
    player.pause();
    pauseButton.textContent = 'Resume';
  }
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

showOriginal.addEventListener('change', () => show(original, showOriginal.checked));
document.title = `Live translation · ${languageName(languageSelect.value)}`;
