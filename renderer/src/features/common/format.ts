/** Small formatting helpers for the views; sizes use shared/disk/sizes so every screen agrees. */
import { formatBytes } from '../../../../shared/disk/sizes';

export { formatBytes };

export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) || path;
}

export function dirname(path: string): string {
  const at = path.replace(/\/+$/, '').lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}

/** "42 %" of a used/size pair, or "–" when there is nothing to measure. */
export function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)} %` : '–';
}

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function formatDate(ms: number | null): string {
  return ms === null ? '–' : DATE.format(new Date(ms));
}

/**
 * Whole numbers with thin grouping: 1 008 000. The app's rule: amounts (bytes, counts of sectors,
 * blocks, clusters) are grouped wherever a person reads them; sector numbers — positions, which
 * the partition fields take and sfdisk prints — and every number inside a command are written
 * plain, as they are typed.
 */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US').replace(/,/g, '\u202f');
}
