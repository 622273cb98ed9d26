/**
 * Jobs: anything that can take more than ~200 ms runs as a job with an id, phases, bytes done of
 * total, a cancel method, and a final state. Progress goes out as the contract's `jobProgress`
 * event, throttled so a fast loop does not flood the UI or the IPC channel.
 */
import { randomUUID } from 'node:crypto';
import type { JobProgress } from '../../shared/api/contract';
import { LoopbackError, serializeError } from '../../shared/errors';

export interface JobContext {
  readonly jobId: string;
  readonly signal: AbortSignal;
  /** Report progress; cheap to call often (events are throttled). */
  progress(update: Partial<Pick<JobProgress, 'phase' | 'bytesDone' | 'bytesTotal' | 'itemsDone' | 'itemsTotal'>>): void;
  /** Throws a CANCELLED LoopbackError if the job was cancelled: call between consistent steps. */
  checkCancelled(): void;
}

export type ProgressListener = (progress: JobProgress) => void;

export class JobRunner {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly onProgress: ProgressListener,
    private readonly minIntervalMs = 100,
  ) {}

  async run<T>(title: string, work: (job: JobContext) => Promise<T>): Promise<T> {
    const jobId = randomUUID();
    const controller = new AbortController();
    this.running.set(jobId, controller);
    const state: JobProgress = { jobId, title, phase: 'starting', state: 'running', bytesDone: 0, bytesTotal: 0 };
    let lastSent = 0;
    const send = (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastSent < this.minIntervalMs) return;
      lastSent = now;
      this.onProgress({ ...state });
    };
    const job: JobContext = {
      jobId,
      signal: controller.signal,
      progress: (update) => {
        const phaseChanged = update.phase !== undefined && update.phase !== state.phase;
        Object.assign(state, update);
        send(phaseChanged);
      },
      checkCancelled: () => {
        if (controller.signal.aborted) throw new LoopbackError('CANCELLED', `${title}: cancelled`);
      },
    };
    send(true);
    try {
      const result = await work(job);
      state.state = 'done';
      state.phase = 'done';
      return result;
    } catch (error) {
      const serialized = serializeError(error);
      state.state = serialized.code === 'CANCELLED' ? 'cancelled' : 'failed';
      if (state.state === 'failed') state.error = { code: serialized.code, message: serialized.message };
      throw error;
    } finally {
      this.running.delete(jobId);
      send(true);
    }
  }

  cancel(jobId: string): boolean {
    const controller = this.running.get(jobId);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  get activeJobIds(): string[] {
    return [...this.running.keys()];
  }
}
