// The speaker page: draws what the broadcast (broadcast.ts) reports and hands it the
// speaker's clicks and the recorder's chunks. The words are in strings.ts.
import QRCode from 'qrcode';
import {
  LiveWords,
  LANGUAGES,
  ProtocolSocket,
  atBottom,
  byTestId as $,
  languageName,
  loadConfig,
  sendWhenOpen,
  show,
  showTranscriptLinks,
  toBase64,
  type ServerMessage,
} from '@llt/shared';
import { CognitoTokenSource, tokenSourceFor, type Prompt } from './auth';
import { Broadcast } from './broadcast';
import { ChunkQueue } from './chunks';
import { LevelWatch, measure } from './level';
import { sendStatusText, TEXT } from './strings';

const MIME = 'audio/webm;codecs=opus';
const TIMESLICE_MS = 250;
const BITRATE = 48_000;
const COPIED_MS = 2500;

const el = {
  signinPanel: $('signin-panel'),
  setupPanel: $('setup-panel'),
  sessionPanel: $('session-panel'),
  stateLabel: $('connection-state'),
  errorBox: $('error-message'),
  sourceSelect: $<HTMLSelectElement>('source-language-select'),
  createButton: $<HTMLButtonElement>('create-session-button'),
  createStatus: $('create-status'),
  micSelect: $<HTMLSelectElement>('microphone-select'),
  startButton: $<HTMLButtonElement>('start-button'),
  pauseButton: $<HTMLButtonElement>('pause-button'),
  resumeButton: $<HTMLButtonElement>('resume-button'),
  stopButton: $<HTMLButtonElement>('stop-button'),
  broadcastState: $('broadcast-state'),
  sendStatus: $('send-status'),
  transcript: $('transcript'),
  endConfirm: $('end-confirm'),
  transcriptLanguage: $<HTMLSelectElement>('transcript-language-select'),
  downloadButton: $<HTMLButtonElement>('download-transcript'),
  copyButton: $<HTMLButtonElement>('copy-link-button'),
  copyStatus: $('copy-status'),
  link: $<HTMLInputElement>('listener-link'),
};
const heardLanguages = new Set<string>(); // the source and every language that had listeners
let recorder: MediaRecorder | null = null;
let stream: MediaStream | null = null;
let copiedTimer: number | undefined;

function showError(text: string | null): void {
  el.errorBox.textContent = text ?? '';
  show(el.errorBox, Boolean(text));
}

const config = await loadConfig();
// Only the languages this deployment can hear (config.json names them when it serves fewer).
const spoken = config.languages ? Object.keys(config.languages) : null;
for (const language of LANGUAGES.filter((l) => l.source && (!spoken || spoken.includes(l.code)))) {
  el.sourceSelect.add(new Option(language.nativeName, language.code));
}
const tokens = tokenSourceFor(config);
const socket = new ProtocolSocket({
  url: async () => `${config.webSocketUrl}?token=${encodeURIComponent(await tokens.idToken())}`,
  // Every new connection (reconnect or the renewal before API Gateway's 2-hour limit)
  // takes the session over before queued audio flows again; a held Create goes out.
  onConnected: (s) => broadcast.connected(s),
});
const broadcast: Broadcast = new Broadcast({
  socket,
  makeQueue: (send) => new ChunkQueue(send),
  timers: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
  events: {
    created: (id, link, sourceLanguage) => {
      offerTranscript(sourceLanguage);
      void showSession(id, link || `${config.listenerUrl}?session=${id}`);
    },
    notice: (notice) => showError(notice ? TEXT.notice[notice] : null),
    refused,
    ended: () => {
      if (recorder && recorder.state !== 'inactive') recorder.stop();
      drawBroadcast();
    },
    creating: drawCreating,
  },
});
socket.onState((state) => {
  el.stateLabel.textContent = TEXT.connection[state] ?? state;
  el.stateLabel.dataset.state = state;
  if (state === 'open') broadcast.opened();
  drawCreating(el.createButton.disabled);
});
socket.onMessage(handle);
setInterval(updateSendStatus, 500);

// -- drawing -----------------------------------------------------------------------

function offerTranscript(code: string): void {
  if (!code || heardLanguages.has(code)) return;
  heardLanguages.add(code);
  el.transcriptLanguage.add(new Option(languageName(code), code));
}

/** A Create on its way: the button waits, and says whether the connection is still coming. */
function drawCreating(on: boolean): void {
  el.createButton.disabled = on;
  el.createButton.setAttribute('aria-busy', String(on));
  el.createButton.textContent = on ? TEXT.creating : TEXT.create;
  el.createStatus.textContent = on && !socket.isOpen ? TEXT.creatingHeld : '';
  show(el.createStatus, on && !socket.isOpen);
}

function updateSendStatus(): void {
  const text = sendStatusText(broadcast.sendStatus(Date.now()));
  el.sendStatus.textContent = text;
  show(el.sendStatus, Boolean(text));
}

function drawBroadcast(): void {
  const state = broadcast.state;
  show(el.startButton, state === 'idle');
  show(el.pauseButton, state === 'live');
  show(el.resumeButton, state === 'paused');
  show(el.stopButton, state !== 'ended' && (state !== 'idle' || broadcast.sessionId !== ''));
  show($('new-session-button'), state === 'ended');
  if (state === 'ended') show(el.endConfirm, false);
  // Ended: the code, link and QR no longer work, so they go; what stays is the transcript.
  el.sessionPanel.dataset.ended = String(state === 'ended');
  show($('ended-note'), state === 'ended');
  el.broadcastState.textContent = TEXT.broadcast[state];
  el.broadcastState.dataset.state = state;
  updateSendStatus();
}

type Message<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

function handle(message: ServerMessage): void {
  broadcast.handle(message);
  switch (message.type) {
    case 'listenerStats':
      showListenerStats(message);
      break;
    case 'transcript':
      addTranscriptLine(message);
      showLiveWords(liveWords.transcribed(message.index));
      break;
    case 'partialTranscript':
      showLiveWords(liveWords.partial(message.index, message.text, message.unstableText));
      break;
    case 'transcriptReady':
      el.downloadButton.textContent = TEXT.downloadTranscript;
      showTranscriptLinks($('transcript-links'), message.urls, TEXT.transcriptLabel(languageName(message.language)));
      $('transcript-links').scrollIntoView({ block: 'nearest' });
      break;
    default:
      break;
  }
}

function refused(message: Message<'error'>): void {
  if (message.action === 'getTranscript') el.downloadButton.textContent = TEXT.downloadTranscript;
  if (message.code !== 'TRANSLATION_UNAVAILABLE') showError(message.message);
}

function showListenerStats(message: Message<'listenerStats'>): void {
  $('listener-total').textContent = String(message.total);
  for (const code of Object.keys(message.listeners)) offerTranscript(code);
  $('listener-counts').replaceChildren(
    ...Object.entries(message.listeners).map(([code, count]) => {
      const item = document.createElement('li');
      item.textContent = `${languageName(code)}: ${count}`;
      item.dataset.language = code;
      return item;
    }),
  );
}

const liveWords = new LiveWords();

function showLiveWords(changed: boolean): void {
  if (!changed) return;
  const live = $('live-transcript');
  live.querySelector('.stable')!.textContent = liveWords.stable;
  live.querySelector('.unstable')!.textContent = liveWords.unstable;
  live.hidden = liveWords.stable === '' && liveWords.unstable === '';
}

function addTranscriptLine(message: Message<'transcript'>): void {
  // In talk order (utterances may arrive out of order), newest highlighted; the list
  // follows new lines unless the speaker scrolled up to re-read.
  const follow = atBottom(el.transcript);
  el.downloadButton.disabled = false; // something to download now
  const item = document.createElement('li');
  item.textContent = message.text;
  if (message.missedMs) {
    const missed = document.createElement('p');
    missed.className = 'missed';
    missed.textContent = TEXT.missed(Math.max(1, Math.round(message.missedMs / 1000)));
    item.prepend(missed);
  }
  item.value = message.index + 1;
  item.dataset.index = String(message.index);
  const later = [...el.transcript.children].find((li) => Number((li as HTMLElement).dataset.index) > message.index);
  el.transcript.insertBefore(item, later ?? null);
  for (const li of el.transcript.children) li.classList.toggle('current', li === el.transcript.lastElementChild);
  if (follow) el.transcript.scrollTop = el.transcript.scrollHeight;
}

async function showSession(id: string, link: string): Promise<void> {
  show(el.setupPanel, false);
  show(el.sessionPanel, true);
  $('session-code').textContent = id;
  el.link.value = link;
  drawBroadcast();
  await QRCode.toCanvas($<HTMLCanvasElement>('qr-code'), link, { width: 180, margin: 1 });
  await listMicrophones();
}

// -- the microphone ----------------------------------------------------------------

async function listMicrophones(): Promise<void> {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
  el.micSelect.replaceChildren(...devices.map((device, n) => new Option(device.label || TEXT.microphone(n + 1), device.deviceId)));
}

function watchLevel(media: MediaStream): void {
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  context.createMediaStreamSource(media).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const watch = new LevelWatch();
  const bar = $('level-bar');
  const tick = () => {
    if (!stream) return void context.close();
    analyser.getFloatTimeDomainData(samples);
    const reading = measure(samples);
    const percent = Math.max(0, Math.min(100, ((reading.rmsDb + 60) / 60) * 100));
    bar.style.width = `${percent}%`;
    $('level-meter').setAttribute('aria-valuenow', String(Math.round(reading.rmsDb)));
    const warnings = watch.update(reading, performance.now());
    show($('silence-warning'), warnings.silent && recorder?.state === 'recording');
    show($('clipping-warning'), warnings.clipping);
    requestAnimationFrame(tick);
  };
  tick();
}

async function startBroadcast(): Promise<void> {
  showError(null);
  const deviceId = el.micSelect.value;
  stream = await navigator.mediaDevices.getUserMedia({
    audio: { deviceId: deviceId ? { exact: deviceId } : undefined, channelCount: 1, echoCancellation: true, noiseSuppression: true },
  });
  await listMicrophones(); // labels appear once permission is given
  watchLevel(stream);
  recorder = new MediaRecorder(stream, { mimeType: MIME, audioBitsPerSecond: BITRATE });
  recorder.ondataavailable = (event) => {
    if (event.data.size === 0) return;
    const blob = event.data;
    broadcast.record(async () => toBase64(new Uint8Array(await blob.arrayBuffer())));
  };
  recorder.onstop = () => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    // The last chunk arrives just before onstop: end once it (and any backlog) has gone.
    broadcast.recordingStopped();
  };
  recorder.start(TIMESLICE_MS);
  broadcast.started();
  drawBroadcast();
}

// -- the speaker's clicks ------------------------------------------------------------

el.startButton.addEventListener('click', () => {
  startBroadcast().catch((error: Error) => showError(TEXT.microphoneError(error.message)));
});
el.pauseButton.addEventListener('click', () => {
  // Nothing more is recorded at once; the server hears of the pause once the audio
  // recorded before it has gone (it refuses audio while paused).
  recorder?.pause();
  broadcast.pause();
  drawBroadcast();
});
el.resumeButton.addEventListener('click', () => {
  broadcast.resume();
  recorder?.resume();
  drawBroadcast();
});
el.stopButton.addEventListener('click', () => {
  if (broadcast.isEnding) return;
  show(el.endConfirm, true); // one click must not end a talk for everyone
  $<HTMLButtonElement>('cancel-end-button').focus();
});
$('cancel-end-button').addEventListener('click', () => show(el.endConfirm, false));
$('new-session-button').addEventListener('click', () => location.assign(location.pathname));
$('confirm-end-button').addEventListener('click', () => {
  show(el.endConfirm, false);
  if (broadcast.isEnding) return;
  const recording = recorder !== null && recorder.state !== 'inactive';
  broadcast.end(recording && recorder?.state === 'paused');
  if (recording) recorder?.stop(); // onstop ends the session after the last chunk
  else broadcast.recordingStopped();
});
el.downloadButton.addEventListener('click', () => {
  if (!broadcast.sessionId) return;
  el.downloadButton.textContent = TEXT.preparingTranscript;
  // Held while the connection is down: the click is not lost.
  sendWhenOpen(socket, { action: 'getTranscript', sessionId: broadcast.sessionId, language: el.transcriptLanguage.value });
});
el.copyButton.addEventListener('click', () => {
  const confirm = (text: string) => {
    el.copyButton.textContent = text === TEXT.copied ? TEXT.copied : TEXT.copy;
    el.copyStatus.textContent = text;
    window.clearTimeout(copiedTimer);
    copiedTimer = window.setTimeout(() => {
      el.copyButton.textContent = TEXT.copy;
      el.copyStatus.textContent = '';
    }, COPIED_MS);
  };
  const copying = navigator.clipboard?.writeText(el.link.value) ?? Promise.reject(new Error('no clipboard'));
  copying.then(
    () => confirm(TEXT.copied),
    () => {
      el.link.select(); // the keyboard can copy it
      confirm(TEXT.copyFailed);
    },
  );
});
$<HTMLFormElement>('create-form').addEventListener('submit', (event) => {
  event.preventDefault();
  // Sent now, or held until the connection is open: a click at page load is not lost.
  broadcast.create(el.sourceSelect.value, $<HTMLInputElement>('title-input').value.trim());
});

// -- sign-in ------------------------------------------------------------------

function askInForm(prompt: Prompt): Promise<string> {
  const [text, label] = TEXT.prompt[prompt.kind];
  $('challenge-text').textContent = prompt.kind === 'totpSetup' ? TEXT.totpKey(text, prompt.secret) : text;
  $('challenge-label').textContent = label;
  const input = $<HTMLInputElement>('challenge-input');
  input.type = prompt.kind === 'newPassword' ? 'password' : 'text';
  input.value = '';
  const qr = $<HTMLImageElement>('totp-qr');
  show(qr, prompt.kind === 'totpSetup');
  if (prompt.kind === 'totpSetup') void QRCode.toDataURL(prompt.otpauthUri).then((url) => (qr.src = url));
  show($('challenge'), true);
  input.focus();
  return new Promise((resolve) => {
    const form = $<HTMLFormElement>('signin-form');
    const answer = (event: Event) => {
      event.preventDefault();
      form.removeEventListener('submit', answer, true);
      event.stopImmediatePropagation();
      show($('challenge'), false);
      resolve(input.value.trim());
    };
    form.addEventListener('submit', answer, true);
  });
}

function connected(): void {
  show(el.signinPanel, false);
  show(el.setupPanel, true);
  socket.start();
}

if (tokens instanceof CognitoTokenSource) {
  if (tokens.restore()) connected();
  else show(el.signinPanel, true);
  $<HTMLFormElement>('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const username = $<HTMLInputElement>('username-input').value.trim();
    const password = $<HTMLInputElement>('password-input').value;
    tokens
      .signIn(username, password, { ask: askInForm })
      .then(connected)
      .catch((error: Error) => showError(TEXT.signInFailed(error.message)));
  });
} else {
  connected(); // the local runner's dev identity
}
drawBroadcast();
