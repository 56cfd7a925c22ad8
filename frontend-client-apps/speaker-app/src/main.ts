import QRCode from 'qrcode';
import {
  LANGUAGES,
  ProtocolSocket,
  atBottom,
  showTranscriptLinks,
  STATE_LABELS,
  byTestId,
  languageName,
  loadConfig,
  show,
  toBase64,
  type ClientAction,
  type ServerMessage,
} from '@llt/shared';
import { CognitoTokenSource, tokenSourceFor, type Prompt } from './auth';
import { ChunkQueue } from './chunks';
import { LevelWatch, measure } from './level';
import { chunkError, reconcile, type BroadcastState } from './session';

const MIME = 'audio/webm;codecs=opus';
const TIMESLICE_MS = 250;
const BITRATE = 48_000;
const RESUME_TIMEOUT_MS = 5000;
const RESUME_RETRY_MS = 10_000;
const RESUME_FAILED = 'Could not resume the session after reconnecting.';
const ENDED_WHILE_AWAY = 'The session ended while you were disconnected.';

const $ = byTestId;
const signinPanel = $('signin-panel');
const setupPanel = $('setup-panel');
const sessionPanel = $('session-panel');
const stateLabel = $('connection-state');
const errorBox = $('error-message');
const sourceSelect = $<HTMLSelectElement>('source-language-select');
const micSelect = $<HTMLSelectElement>('microphone-select');
const startButton = $<HTMLButtonElement>('start-button');
const pauseButton = $<HTMLButtonElement>('pause-button');
const resumeButton = $<HTMLButtonElement>('resume-button');
const stopButton = $<HTMLButtonElement>('stop-button');
const broadcastState = $('broadcast-state');
const sendStatus = $('send-status');
const transcript = $('transcript');
const endConfirm = $('end-confirm');
const transcriptLanguage = $<HTMLSelectElement>('transcript-language-select');
const downloadButton = $<HTMLButtonElement>('download-transcript');
const heardLanguages = new Set<string>(); // the source and every language that had listeners

function offerTranscript(code: string): void {
  if (heardLanguages.has(code)) return;
  heardLanguages.add(code);
  transcriptLanguage.add(new Option(languageName(code), code));
}


let sessionId = '';
let sourceLanguage = '';
let seq = 0;
let recorder: MediaRecorder | null = null;
let stream: MediaStream | null = null;
let broadcasting: BroadcastState = 'idle';
let creating = false; // a createSession is on its way (no second one: SESSION_IN_PROGRESS)
let ending = false; // the speaker clicked End
let endSent = false;
let over = false; // the session has ended: nothing more is sent
// This connection carries the session (created or resumed on it): audio and controls may
// flow. A new connection carries nothing until its resume is answered.
let attached = false;
// 'unanswered': no answer in time, or a transient refusal (INTERNAL_ERROR, RATE_LIMITED).
type ResumeResult = 'resumed' | 'refused' | 'ended' | 'unanswered';
let resumeWaiter: ((result: ResumeResult) => void) | null = null;
let resuming = false; // a resume was sent and is not answered yet
let resumeAttempt = 0;
let resumeFailedShown = false;
let resumeHopeless = false; // refused for good (not found, expired, someone else's): no retries
let slowedUntil = 0;
// Each chunk's conversion to base64 in recording order; controls wait for it.
let converting: Promise<void> = Promise.resolve();
// Pause, resume and end go out in click order, each after the audio recorded before it.
let control: Promise<void> = Promise.resolve();
let readyWaiters: (() => void)[] = [];

function showError(text: string | null): void {
  errorBox.textContent = text ?? '';
  show(errorBox, Boolean(text));
}

const config = await loadConfig();
// Only the languages this deployment can hear (config.json names them when it serves fewer).
const spoken = config.languages ? Object.keys(config.languages) : null;
for (const language of LANGUAGES.filter((l) => l.source && (!spoken || spoken.includes(l.code)))) {
  sourceSelect.add(new Option(language.nativeName, language.code));
}
const tokens = tokenSourceFor(config);
const socket = new ProtocolSocket({
  url: async () => `${config.webSocketUrl}?token=${encodeURIComponent(await tokens.idToken())}`,
  // Every new connection (reconnect or the renewal before API Gateway's 2-hour limit)
  // takes the session over before queued audio flows again.
  onConnected: async (s) => {
    attached = false;
    if (!sessionId || over) return;
    const attempt = ++resumeAttempt;
    resuming = true;
    resumeHopeless = false;
    const result = await new Promise<ResumeResult>((resolve) => {
      resumeWaiter = resolve;
      setTimeout(() => resolve('unanswered'), RESUME_TIMEOUT_MS);
      s.sendDuringSetup({ action: 'createSession', sourceLanguage, resumeSessionId: sessionId });
    });
    if (attempt !== resumeAttempt) return; // a newer connection has taken over
    resumeWaiter = null;
    // Audio is held back meanwhile; a late answer still resumes (and clears the message).
    if ((result === 'refused' || result === 'unanswered') && !attached && !over) {
      showError(RESUME_FAILED);
      resumeFailedShown = true;
      if (result === 'unanswered') retryResume(attempt);
    }
  },
});
const queue = new ChunkQueue((chunk) =>
  sendToSession({ action: 'audioChunk', sessionId, seq: chunk.seq, data: chunk.data }),
);
socket.onState((state) => {
  stateLabel.textContent = STATE_LABELS[state] ?? state;
  stateLabel.dataset.state = state;
  if (state === 'open') {
    queue.flush();
    wakeControls();
  }
});
socket.onMessage(handle);
setInterval(updateSendStatus, 500);

function sendToSession(message: ClientAction): boolean {
  return attached && !over && socket.send(message);
}

function wakeControls(): void {
  const waiters = readyWaiters;
  readyWaiters = [];
  for (const wake of waiters) wake();
}

/** This connection now carries the session: held audio and controls flow again. */
function attach(): void {
  attached = true;
  queue.flush();
  wakeControls();
}

/** Sends a control once the audio recorded before it has gone, and once the session is reachable. */
function afterAudio(message: ClientAction): void {
  control = control
    .then(async () => {
      for (;;) {
        await converting;
        await queue.whenEmpty();
        if (over) return;
        // The end says which chunk was the last: if it overtakes that chunk on the way
        // (each message is its own invocation), the server still takes the chunk.
        const outgoing: ClientAction = message.action === 'endSession' ? { ...message, lastSeq: seq - 1 } : message;
        if (sendToSession(outgoing)) {
          if (message.action === 'endSession') endSent = true;
          return;
        }
        await new Promise<void>((resolve) => readyWaiters.push(resolve));
      }
    })
    .catch(() => undefined);
}

/** The session is over (ended, or refused on resume): stop and send nothing more. */
function finish(text?: string | null): void {
  over = true;
  attached = false;
  queue.clear();
  wakeControls();
  if (recorder && recorder.state !== 'inactive') recorder.stop();
  setBroadcasting('ended');
  if (text !== undefined) showError(text);
  updateSendStatus();
}

function resumed(message: Extract<ServerMessage, { type: 'sessionCreated' }>): void {
  resuming = false;
  if (over) return;
  // Chunks sent into the dying socket may never have arrived: send them again.
  if (typeof message.lastSeq === 'number') queue.resendAfter(message.lastSeq);
  const fix = reconcile(broadcasting, message.status);
  // A lost resume goes out before the held audio (the server refuses audio while paused).
  if (fix === 'resumeBroadcast') socket.sendDuringSetup({ action: fix, sessionId });
  attach();
  if (fix === 'pauseBroadcast') afterAudio({ action: fix, sessionId });
  if (ending && endSent) afterAudio({ action: 'endSession', sessionId }); // it may have died with the socket
  resumeWaiter?.('resumed');
  if (resumeFailedShown) {
    showError(null);
    resumeFailedShown = false;
  }
}

function resumeRefused(message: Extract<ServerMessage, { type: 'error' }>): void {
  resuming = false;
  if (message.code === 'SESSION_ENDED') {
    // Ended while the speaker was away (the grace period passed), or by the End click.
    finish(ending ? null : ENDED_WHILE_AWAY);
    resumeWaiter?.('ended');
    return;
  }
  const transient = message.code === 'INTERNAL_ERROR' || message.code === 'RATE_LIMITED';
  if (!transient) resumeHopeless = true;
  if (resumeWaiter) {
    resumeWaiter(transient ? 'unanswered' : 'refused');
  } else if (!over) {
    showError(RESUME_FAILED); // a late refusal (a retry's)
    resumeFailedShown = true;
  }
}

/** While a resume goes unanswered on an open connection, it is asked again now and then. */
function retryResume(attempt: number): void {
  setTimeout(() => {
    if (attempt !== resumeAttempt || attached || over || resumeHopeless || !socket.isOpen) return;
    resuming = true;
    socket.send({ action: 'createSession', sourceLanguage, resumeSessionId: sessionId });
    retryResume(attempt);
  }, RESUME_RETRY_MS);
}

function updateSendStatus(): void {
  const seconds = Math.max(1, Math.round((queue.length * TIMESLICE_MS) / 1000));
  let text = '';
  const lost = Math.round((queue.dropped * TIMESLICE_MS) / 1000);
  if (over) text = '';
  else if (lost > 0 && queue.length >= 4) text = `${lost} s of audio could not be kept while offline and will be missing; sending the last ${seconds} s…`;
  else if (queue.length >= 4 && !attached && resumeHopeless) text = `${seconds} s of audio held back: the session could not be resumed.`;
  else if (queue.length >= 4 && !attached) text = `Holding ${seconds} s of audio until the session is back…`;
  else if (queue.length >= 4) text = `Catching up: ${seconds} s of audio still to send…`;
  else if (Date.now() < slowedUntil) text = 'The server asked for a slower pace: resending a little audio…';
  sendStatus.textContent = text;
  show(sendStatus, Boolean(text));
}

function handle(message: ServerMessage): void {
  switch (message.type) {
    case 'sessionCreated':
      sessionCreated(message);
      break;
    case 'listenerStats':
      showListenerStats(message);
      break;
    case 'transcript':
      addTranscriptLine(message);
      break;
    case 'sessionEnded':
      if (message.sessionId === sessionId) finish();
      break;
    case 'transcriptReady':
      downloadButton.textContent = 'Download transcript';
      showTranscriptLinks($('transcript-links'), message.urls, `Transcript (${languageName(message.language)})`);
      break;
    case 'error':
      refused(message);
      break;
    default:
      break;
  }
}

type Message<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

function sessionCreated(message: Message<'sessionCreated'>): void {
  if (message.resumed) {
    resumed(message);
    return;
  }
  creating = false;
  if (sessionId) return; // not ours to show: this page speaks one session
  sessionId = message.sessionId;
  sourceLanguage = message.sourceLanguage;
  offerTranscript(message.sourceLanguage);
  attach();
  void showSession(message.sessionId, message.listenerUrl || `${config.listenerUrl}?session=${message.sessionId}`);
}

function showListenerStats(message: Message<'listenerStats'>): void {
  $('listener-total').textContent = String(message.total);
  for (const code of Object.keys(message.listeners)) offerTranscript(code);
  const list = $('listener-counts');
  list.replaceChildren(
    ...Object.entries(message.listeners).map(([code, count]) => {
      const item = document.createElement('li');
      item.textContent = `${languageName(code)}: ${count}`;
      item.dataset.language = code;
      return item;
    }),
  );
}

function addTranscriptLine(message: Message<'transcript'>): void {
  // In talk order (utterances may arrive out of order), newest highlighted; the list
  // follows new lines unless the speaker scrolled up to re-read.
  const follow = atBottom(transcript);
  downloadButton.disabled = false; // something to download now
  const item = document.createElement('li');
  item.textContent = message.text;
  if (message.missedMs) {
    const missed = document.createElement('p');
    missed.className = 'missed';
    missed.textContent = `${Math.max(1, Math.round(message.missedMs / 1000))} s of audio did not arrive before this.`;
    item.prepend(missed);
  }
  item.value = message.index + 1;
  item.dataset.index = String(message.index);
  const later = [...transcript.children].find((li) => Number((li as HTMLElement).dataset.index) > message.index);
  transcript.insertBefore(item, later ?? null);
  for (const li of transcript.children) li.classList.toggle('current', li === transcript.lastElementChild);
  if (follow) transcript.scrollTop = transcript.scrollHeight;
}

function refused(message: Message<'error'>): void {
  if (message.action === 'createSession' && resuming) {
    resumeRefused(message);
    return;
  }
  if (message.action === 'createSession') creating = false;
  const chunk = chunkError(message);
  if (chunk !== null && over) return; // answers to audio sent before the end
  if (chunk === 'resend' && typeof message.seq === 'number') {
    // Not stored: it goes out again, paced; being slowed down is no error of the speaker's.
    queue.requeue(message.seq);
    if (message.code === 'RATE_LIMITED') slowedUntil = Date.now() + 3000;
    updateSendStatus();
    return;
  }
  if (chunk === 'quiet') return;
  if (message.action === 'getTranscript') downloadButton.textContent = 'Download transcript';
  if (message.code !== 'TRANSLATION_UNAVAILABLE') showError(message.message);
}

async function showSession(id: string, link: string): Promise<void> {
  show(setupPanel, false);
  show(sessionPanel, true);
  $('session-code').textContent = id;
  $<HTMLInputElement>('listener-link').value = link;
  setBroadcasting('idle');
  await QRCode.toCanvas($<HTMLCanvasElement>('qr-code'), link, { width: 180, margin: 1 });
  await listMicrophones();
}

async function listMicrophones(): Promise<void> {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
  micSelect.replaceChildren(
    ...devices.map((device, n) => new Option(device.label || `Microphone ${n + 1}`, device.deviceId)),
  );
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
  const deviceId = micSelect.value;
  stream = await navigator.mediaDevices.getUserMedia({
    audio: { deviceId: deviceId ? { exact: deviceId } : undefined, channelCount: 1, echoCancellation: true, noiseSuppression: true },
  });
  await listMicrophones(); // labels appear once permission is given
  watchLevel(stream);
  recorder = new MediaRecorder(stream, { mimeType: MIME, audioBitsPerSecond: BITRATE });
  recorder.ondataavailable = (event) => {
    if (event.data.size === 0) return;
    // The seq is taken now, in recording order; the conversions run one after another.
    const blob = event.data;
    const chunkSeq = seq++;
    converting = converting
      .then(async () => {
        const data = toBase64(new Uint8Array(await blob.arrayBuffer()));
        if (!over) queue.push({ seq: chunkSeq, data });
      })
      .catch(() => undefined);
  };
  recorder.onstop = () => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    // The last chunk arrives just before onstop: end once it (and any backlog) has gone.
    if (!over) afterAudio({ action: 'endSession', sessionId });
  };
  recorder.start(TIMESLICE_MS);
  setBroadcasting('live');
}

function setBroadcasting(state: BroadcastState | 'ended'): void {
  if (state !== 'ended') broadcasting = state;
  show(startButton, state === 'idle');
  show(pauseButton, state === 'live');
  show(resumeButton, state === 'paused');
  show(stopButton, state !== 'ended' && (state !== 'idle' || sessionId !== ''));
  show($('new-session-button'), state === 'ended');
  if (state === 'ended') show(endConfirm, false);
  broadcastState.textContent = {
    idle: 'Not broadcasting',
    live: 'Broadcasting live',
    paused: 'Paused',
    ended: 'Session ended',
  }[state];
  broadcastState.dataset.state = state;
}

startButton.addEventListener('click', () => {
  startBroadcast().catch((error: Error) => showError(`Microphone: ${error.message}`));
});
pauseButton.addEventListener('click', () => {
  // Nothing more is recorded at once; the server hears of the pause once the audio
  // recorded before it has gone (it refuses audio while paused).
  recorder?.pause();
  setBroadcasting('paused');
  afterAudio({ action: 'pauseBroadcast', sessionId });
});
resumeButton.addEventListener('click', () => {
  afterAudio({ action: 'resumeBroadcast', sessionId });
  recorder?.resume();
  setBroadcasting('live');
});
stopButton.addEventListener('click', () => {
  if (ending || over) return;
  show(endConfirm, true); // one click must not end a talk for everyone
  $<HTMLButtonElement>('cancel-end-button').focus();
});
$('cancel-end-button').addEventListener('click', () => show(endConfirm, false));
$('new-session-button').addEventListener('click', () => location.assign(location.pathname));
$('confirm-end-button').addEventListener('click', () => {
  show(endConfirm, false);
  if (ending || over) return;
  ending = true;
  if (recorder && recorder.state !== 'inactive') {
    if (recorder.state === 'paused') afterAudio({ action: 'resumeBroadcast', sessionId });
    recorder.stop(); // onstop sends endSession
  } else {
    afterAudio({ action: 'endSession', sessionId });
  }
});
downloadButton.addEventListener('click', () => {
  if (!sessionId) return;
  downloadButton.textContent = 'Preparing the transcript…';
  socket.send({ action: 'getTranscript', sessionId, language: transcriptLanguage.value });
});
$('copy-link-button').addEventListener('click', () => {
  void navigator.clipboard?.writeText($<HTMLInputElement>('listener-link').value);
});
$<HTMLFormElement>('create-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (sessionId || creating) return; // one session per page (a double click would be SESSION_IN_PROGRESS)
  const title = $<HTMLInputElement>('title-input').value.trim();
  creating = socket.send({ action: 'createSession', sourceLanguage: sourceSelect.value, ...(title ? { title } : {}) });
});

// -- sign-in ------------------------------------------------------------------
const PROMPT_TEXT: Record<Prompt['kind'], [string, string]> = {
  newPassword: ['Choose a new password for your account.', 'New password'],
  totpCode: ['Enter the 6-digit code from your authenticator app.', 'Code'],
  totpSetup: ['Scan this QR code with an authenticator app, then enter the code it shows.', 'Code'],
};

function askInForm(prompt: Prompt): Promise<string> {
  const [text, label] = PROMPT_TEXT[prompt.kind];
  $('challenge-text').textContent = prompt.kind === 'totpSetup' ? `${text} Key: ${prompt.secret}` : text;
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
  show(signinPanel, false);
  show(setupPanel, true);
  socket.start();
}

if (tokens instanceof CognitoTokenSource) {
  if (tokens.restore()) connected();
  else show(signinPanel, true);
  $<HTMLFormElement>('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const username = $<HTMLInputElement>('username-input').value.trim();
    const password = $<HTMLInputElement>('password-input').value;
    tokens
      .signIn(username, password, { ask: askInForm })
      .then(connected)
      .catch((error: Error) => showError(`Sign-in failed: ${error.message}`));
  });
} else {
  connected(); // the local runner's dev identity
}
setBroadcasting('idle');
