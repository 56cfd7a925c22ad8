import QRCode from 'qrcode';
import {
  LANGUAGES,
  ProtocolSocket,
  STATE_LABELS,
  byTestId,
  languageName,
  loadConfig,
  show,
  toBase64,
  type ServerMessage,
} from '@llt/shared';
import { CognitoTokenSource, tokenSourceFor, type Prompt } from './auth';
import { ChunkQueue } from './chunks';
import { LevelWatch, measure } from './level';

const MIME = 'audio/webm;codecs=opus';
const TIMESLICE_MS = 250;
const BITRATE = 48_000;

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
const transcript = $('transcript');

for (const language of LANGUAGES.filter((l) => l.source)) sourceSelect.add(new Option(language.nativeName, language.code));

let sessionId = '';
let sourceLanguage = '';
let seq = 0;
let recorder: MediaRecorder | null = null;
let stream: MediaStream | null = null;
let ending = false;
let resumeWaiter: ((ok: boolean) => void) | null = null;

function showError(text: string | null): void {
  errorBox.textContent = text ?? '';
  show(errorBox, Boolean(text));
}

const config = await loadConfig();
const tokens = tokenSourceFor(config);
const socket = new ProtocolSocket({
  url: async () => `${config.webSocketUrl}?token=${encodeURIComponent(await tokens.idToken())}`,
  // Every new connection (reconnect or the renewal before API Gateway's 2-hour limit)
  // takes the session over before queued audio flows again.
  onConnected: async (s) => {
    if (!sessionId) return;
    const resumed = new Promise<boolean>((resolve) => {
      resumeWaiter = resolve;
      setTimeout(() => resolve(false), 5000);
    });
    s.sendDuringSetup({ action: 'createSession', sourceLanguage, resumeSessionId: sessionId });
    if (!(await resumed)) showError('Could not resume the session after reconnecting.');
  },
});
const queue = new ChunkQueue((chunk) =>
  socket.send({ action: 'audioChunk', sessionId, seq: chunk.seq, data: chunk.data }),
);
socket.onState((state) => {
  stateLabel.textContent = STATE_LABELS[state] ?? state;
  stateLabel.dataset.state = state;
  if (state === 'open') queue.flush();
});
socket.onMessage(handle);

function handle(message: ServerMessage): void {
  switch (message.type) {
    case 'sessionCreated':
      if (message.resumed) {
        resumeWaiter?.(true);
        resumeWaiter = null;
        return;
      }
      sessionId = message.sessionId;
      sourceLanguage = message.sourceLanguage;
      void showSession(message.sessionId, message.listenerUrl || `${config.listenerUrl}?session=${message.sessionId}`);
      break;
    case 'listenerStats': {
      $('listener-total').textContent = String(message.total);
      const list = $('listener-counts');
      list.replaceChildren(
        ...Object.entries(message.listeners).map(([code, count]) => {
          const item = document.createElement('li');
          item.textContent = `${languageName(code)}: ${count}`;
          item.dataset.language = code;
          return item;
        }),
      );
      break;
    }
    case 'transcript': {
      const item = document.createElement('li');
      item.textContent = message.text;
      item.value = message.index + 1;
      transcript.append(item);
      transcript.scrollTop = transcript.scrollHeight;
      break;
    }
    case 'sessionEnded':
      broadcastState.textContent = 'Session ended';
      for (const button of [startButton, pauseButton, resumeButton, stopButton]) show(button, false);
      break;
    case 'error':
      if (message.action === 'createSession' && resumeWaiter) {
        resumeWaiter(false);
        resumeWaiter = null;
      }
      if (message.code !== 'TRANSLATION_UNAVAILABLE') showError(message.message);
      break;
    default:
      break;
  }
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
  recorder.ondataavailable = async (event) => {
    if (event.data.size === 0) return;
    const data = toBase64(new Uint8Array(await event.data.arrayBuffer()));
    queue.push({ seq: seq++, data });
  };
  recorder.onstop = () => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    // The last chunk arrives just before onstop: end once it has been handed over.
    setTimeout(() => {
      queue.flush();
      socket.send({ action: 'endSession', sessionId });
    }, 100);
  };
  recorder.start(TIMESLICE_MS);
  setBroadcasting('live');
}

function setBroadcasting(state: 'idle' | 'live' | 'paused'): void {
  show(startButton, state === 'idle');
  show(pauseButton, state === 'live');
  show(resumeButton, state === 'paused');
  show(stopButton, state !== 'idle' || sessionId !== '');
  broadcastState.textContent = { idle: 'Not broadcasting', live: 'Broadcasting live', paused: 'Paused' }[state];
  broadcastState.dataset.state = state;
}

startButton.addEventListener('click', () => {
  startBroadcast().catch((error: Error) => showError(`Microphone: ${error.message}`));
});
pauseButton.addEventListener('click', () => {
  recorder?.pause();
  socket.send({ action: 'pauseBroadcast', sessionId });
  setBroadcasting('paused');
});
resumeButton.addEventListener('click', () => {
  socket.send({ action: 'resumeBroadcast', sessionId });
  recorder?.resume();
  setBroadcasting('live');
});
stopButton.addEventListener('click', () => {
  if (ending) return;
  ending = true;
  if (recorder && recorder.state !== 'inactive') {
    if (recorder.state === 'paused') socket.send({ action: 'resumeBroadcast', sessionId });
    recorder.stop();
  } else {
    socket.send({ action: 'endSession', sessionId });
  }
});
$('copy-link-button').addEventListener('click', () => {
  void navigator.clipboard?.writeText($<HTMLInputElement>('listener-link').value);
});
$<HTMLFormElement>('create-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const title = $<HTMLInputElement>('title-input').value.trim();
  socket.send({ action: 'createSession', sourceLanguage: sourceSelect.value, ...(title ? { title } : {}) });
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
