#!/usr/bin/env node
// CI step (issue 19): runs the README's first command exactly as a newcomer types it —
// `npm install && npm start` — on this machine, which cannot download the Electron binary, and
// checks that it serves the app: the page at the printed http://127.0.0.1:…/?token=… address, its
// bridge script, and the app's first API call (app.version) over the harness's WebSocket. Then
// Ctrl+C (SIGINT) must end it cleanly. Exits non-zero with what it saw otherwise.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

const TIMEOUT_MS = 240_000;
const firstLine = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  .split('\n')
  .find((line) => line.startsWith('npm install'));
const command = firstLine.split('#')[0].trim();
if (command !== 'npm install && npm start') throw new Error(`the README's first command changed: ${command}`);

const env = { ...process.env };
delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
// Its own process group, so Ctrl+C reaches npm, start.mjs and the server alike, as in a terminal.
const child = spawn('sh', ['-c', command], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
child.stdout.on('data', (chunk) => process.stdout.write(((output += chunk), chunk)));
child.stderr.on('data', (chunk) => process.stderr.write(((output += chunk), chunk)));
const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

function fail(message) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  console.error(`\nREADME first line: FAILED: ${message}`);
  process.exit(1);
}
const timer = setTimeout(() => fail(`no app URL within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);

let served = false;
exited.then(({ code, signal }) => served || fail(`it ended (${signal ?? `exit ${code}`}) before printing the app's address`));
const url = await new Promise((resolve) => {
  child.stdout.on('data', () => {
    const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(output);
    if (match) resolve(match[0]);
  });
});
served = true;
clearTimeout(timer);

const page = await fetch(url);
const html = await page.text();
if (page.status !== 200 || !html.includes('/__harness/bridge.js')) fail(`the page answered ${page.status} without the app`);
const bridge = await fetch(new URL('/__harness/bridge.js', url));
if (bridge.status !== 200) fail(`the bridge script answered ${bridge.status}`);

const { origin, searchParams } = new URL(url);
const version = await new Promise((resolve, reject) => {
  const socket = new WebSocket(`${origin.replace('http', 'ws')}/__harness/ws?token=${searchParams.get('token')}`, { origin });
  socket.on('open', () => socket.send(JSON.stringify({ id: 1, method: 'app.version', input: {} })));
  socket.on('message', (data) => {
    socket.close();
    resolve(JSON.parse(String(data)));
  });
  socket.on('error', reject);
}).catch((error) => fail(`the API call failed: ${error.message}`));
if (!version?.result?.ok) fail(`app.version answered ${JSON.stringify(version)}`);

process.kill(-child.pid, 'SIGINT');
const stopTimer = setTimeout(() => fail('Ctrl+C did not end it within 20 s'), 20_000);
const end = await exited;
clearTimeout(stopTimer);
console.log(
  `\nREADME first line: npm install && npm start served ${url.replace(/token=.*/, 'token=…')}, app.version answered ${JSON.stringify(version.result.value)}; Ctrl+C ended it (${end.signal ?? `exit ${end.code}`}).`,
);
