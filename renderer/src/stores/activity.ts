/**
 * Jobs and the log: every job's progress from the jobProgress event, and a log of what the app
 * did for the user — each action, the commands it ran (for "Show commands"), and each error as
 * a sentence with its fix. One store, because the activity panel shows them together.
 */
import { create } from 'zustand';
import type { JobProgress } from '../../../shared/api/contract';
import { api } from '../api';
import { explainError } from '../features/common/errors';

export interface LogEntry {
  id: number;
  at: number;
  level: 'info' | 'error';
  text: string;
  fix: string | null;
  /** Shell lines that do the same (loop engine commands, the QEMU command line …). */
  commands: string[];
}

export interface ActivityState {
  /** Latest progress of each job this window saw, newest last. */
  jobs: JobProgress[];
  log: LogEntry[];
  panelOpen: boolean;
}

export const initialActivityState: ActivityState = { jobs: [], log: [], panelOpen: false };

/** Finished jobs kept for the panel; running ones are always kept. */
const KEEP_FINISHED_JOBS = 20;
const KEEP_LOG_ENTRIES = 500;

export const useActivityStore = create<ActivityState>()(() => initialActivityState);

export function resetActivityStore(): void {
  useActivityStore.setState(initialActivityState, true);
}

let nextLogId = 1;

function addLog(entry: Omit<LogEntry, 'id' | 'at'>): LogEntry {
  const full = { ...entry, id: nextLogId++, at: Date.now() };
  useActivityStore.setState((s) => ({ log: [...s.log, full].slice(-KEEP_LOG_ENTRIES) }));
  return full;
}

export function logInfo(text: string, commands: string[] = []): void {
  addLog({ level: 'info', text, fix: null, commands });
}

/** Logs an error as a sentence with its fix; answers the entry, for a message on screen. */
export function logError(error: unknown, doing?: string): LogEntry {
  const { text, fix } = explainError(error);
  return addLog({ level: 'error', text: doing ? `${doing}: ${text}` : text, fix, commands: [] });
}

export function setActivityPanel(open: boolean): void {
  useActivityStore.setState({ panelOpen: open });
}

export function applyJobProgress(progress: JobProgress): void {
  useActivityStore.setState((s) => {
    const known = s.jobs.some((j) => j.jobId === progress.jobId);
    const jobs = known ? s.jobs.map((j) => (j.jobId === progress.jobId ? progress : j)) : [...s.jobs, progress];
    const finished = jobs.filter((j) => j.state !== 'running');
    const drop = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED_JOBS)).map((j) => j.jobId));
    return { jobs: jobs.filter((j) => !drop.has(j.jobId)) };
  });
}

export async function cancelJob(jobId: string): Promise<void> {
  try {
    await api().jobs.cancel({ jobId });
  } catch (error) {
    logError(error, 'Cancel');
  }
}

let unsubscribe: (() => void) | null = null;

/** Listens to jobProgress for the life of the window (idempotent). */
export function startActivity(): void {
  if (unsubscribe) return;
  unsubscribe = api().onJobProgress(applyJobProgress);
}
