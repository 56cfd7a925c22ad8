// Records a WAV through Chromium's real MediaRecorder (audio/webm;codecs=opus,
// timeslice 250 ms) with a fake microphone, and writes each dataavailable chunk
// as chunk-NNNN.webm: exactly what the speaker app sends.
//   node capture-mediarecorder.mjs INPUT.wav OUT_DIR [bitrate]
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const [wavPath, outDir, bitrateArg] = process.argv.slice(2);
if (!wavPath || !outDir) {
  console.error('usage: capture-mediarecorder.mjs INPUT.wav OUT_DIR [bitrate]');
  process.exit(2);
}
const bitrate = Number(bitrateArg ?? 48000);
const wav = readFileSync(wavPath);
// RIFF: byte rate at offset 28; the data chunk size is the file size minus the header.
const byteRate = wav.readUInt32LE(28);
const durationMs = Math.ceil(((wav.length - 44) / byteRate) * 1000);

const page = `<!doctype html><meta charset="utf-8"><title>capture</title><script>
async function record(durationMs, bitrate) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: {
    echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 } });
  const recorder = new MediaRecorder(stream, { mimeType: 'audio/webm;codecs=opus', audioBitsPerSecond: bitrate });
  let seq = 0;
  const pending = [];
  recorder.ondataavailable = (event) => {
    const index = seq++;
    pending.push(event.data.arrayBuffer().then((buffer) => {
      let binary = '';
      const bytes = new Uint8Array(buffer);
      for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
      return window.saveChunk(index, btoa(binary), performance.now());
    }));
  };
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start(250);
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  recorder.stop();
  await stopped;
  await Promise.all(pending);
  stream.getTracks().forEach((track) => track.stop());
  return seq;
}
</script>`;

const server = createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end(page); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-audio-capture=${resolve(wavPath)}%noloop`,
  ],
});
mkdirSync(outDir, { recursive: true });
const timings = [];
try {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.exposeFunction('saveChunk', (index, base64, atMs) => {
    const name = `chunk-${String(index).padStart(4, '0')}.webm`;
    writeFileSync(join(outDir, name), Buffer.from(base64, 'base64'));
    timings.push({ seq: index, atMs: Math.round(atMs) });
  });
  await tab.goto(url);
  const count = await tab.evaluate(([d, b]) => record(d, b), [durationMs, bitrate]);
  timings.sort((a, b) => a.seq - b.seq);
  writeFileSync(join(outDir, 'capture.json'), JSON.stringify({ source: wavPath.split('/').pop(), durationMs, bitrate, chunks: count, timings }, null, 2));
  console.log(`captured ${count} chunks (${durationMs} ms of audio) into ${outDir}`);
} finally {
  await browser.close();
  server.close();
}
