/**
 * The built CLI (out/cli/main.mjs, what tests/support/cli.ts `cli()` runs) in a worker thread
 * of this process, for tests that must survive a command that never returns. A hang in the
 * readers is often synchronous or microtasks only (the image is read with synchronous calls),
 * so no timer of the thread running it would ever fire; from here the worker is terminated
 * when a command overruns, and the next command gets a fresh one.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CliRun } from './cli';

/** The worker: loads the built CLI once and runs each command it is sent, capturing its output as cli() does. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const loaded = import(workerData.main).then((module) => module.run);
parentPort.on('message', async ({ id, argv }) => {
  let stdout = '';
  let stderr = '';
  try {
    const run = await loaded;
    const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTty: false });
    parentPort.postMessage({ id, code, stdout, stderr });
  } catch (error) {
    parentPort.postMessage({ id, code: -1, stdout, stderr: stderr + 'uncaught: ' + (error && error.stack ? error.stack : String(error)) });
  }
});
`;

export type WorkerRun = (CliRun & { timedOut: false }) | { timedOut: true; code: null; stdout: string; stderr: string; json(): never };

interface Pending {
  resolve: (run: WorkerRun) => void;
  timer: NodeJS.Timeout;
}

export class CliWorker {
  private worker: Worker | null = null;
  private next = 0;
  private readonly pending = new Map<number, Pending>();
  /** Workers terminated because a command overran. */
  restarts = 0;

  private start(): Worker {
    const main = pathToFileURL(join(__dirname, '../../out/cli/main.mjs')).href;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { main } });
    worker.on('message', (message: { id: number; code: number; stdout: string; stderr: string }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      clearTimeout(pending.timer);
      this.pending.delete(message.id);
      pending.resolve({
        timedOut: false,
        code: message.code,
        stdout: message.stdout,
        stderr: message.stderr,
        json: () => JSON.parse(message.stdout),
      });
    });
    worker.on('error', (error) => this.failAll(`the worker died: ${error.stack ?? String(error)}`));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
      this.failAll('the worker exited');
    });
    return worker;
  }

  private failAll(why: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.resolve({ timedOut: false, code: -1, stdout: '', stderr: why, json: () => JSON.parse('') });
    }
  }

  /** Runs `loopstudio ARGV…`; a command that takes longer than `timeoutMs` ends the worker and reports timedOut. */
  run(argv: readonly string[], timeoutMs: number): Promise<WorkerRun> {
    this.worker ??= this.start();
    const worker = this.worker;
    const id = ++this.next;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.restarts++;
        this.worker = null;
        void worker.terminate();
        resolve({ timedOut: true, code: null, stdout: '', stderr: `timed out after ${timeoutMs} ms`, json: () => JSON.parse('') as never });
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      worker.postMessage({ id, argv: [...argv] });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}
