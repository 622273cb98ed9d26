import type { JobProgress } from '../../../../shared/api/contract';
import { formatBytes } from './format';

/** How far a job is, as a fraction, from bytes (or items when bytes are unknown). */
export function jobFraction(job: Pick<JobProgress, 'bytesDone' | 'bytesTotal' | 'itemsDone' | 'itemsTotal' | 'state'>): number | null {
  if (job.state === 'done') return 1;
  if (job.bytesTotal > 0) return Math.min(1, job.bytesDone / job.bytesTotal);
  if (job.itemsTotal) return Math.min(1, (job.itemsDone ?? 0) / job.itemsTotal);
  return null;
}

/** "1.2 MiB of 3 MiB · 2 of 5 files". */
export function jobAmount(job: Pick<JobProgress, 'bytesDone' | 'bytesTotal' | 'itemsDone' | 'itemsTotal'>): string {
  const parts: string[] = [];
  if (job.bytesTotal > 0) parts.push(`${formatBytes(job.bytesDone)} of ${formatBytes(job.bytesTotal)}`);
  if (job.itemsTotal) parts.push(`${job.itemsDone ?? 0} of ${job.itemsTotal} files`);
  return parts.join(' · ');
}

/** A native <progress>: determinate when the fraction is known, else indeterminate. */
export function ProgressBar({ fraction, label }: { fraction: number | null; label: string }) {
  return fraction === null ? (
    <progress className="progress" aria-label={label} />
  ) : (
    <progress className="progress" aria-label={label} max={1} value={fraction} />
  );
}
