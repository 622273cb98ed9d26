/**
 * Errors as sentences a person can act on. The services already word their messages for people
 * ("Not enough space in floppy.img: the copy needs at least 2 MiB and 1.38 MiB is free; nothing
 * was copied"); this adds what to do next where the code says more than the message does.
 */
import { LoopbackError, type ErrorCode } from '../../../../shared/errors';

export interface Explained {
  /** The sentence: what went wrong, where. */
  text: string;
  /** What to do about it, when there is something general to say. */
  fix: string | null;
  code: ErrorCode | null;
}

const FIXES: Partial<Record<ErrorCode, string>> = {
  HOST_TOOL_MISSING: 'Open “Host tools” in the status bar to see how to install it.',
  IO: 'Check that the file still exists and that you may read and write it.',
  CORRUPT: 'The image is damaged (or was made to look so): check it with fsck.fat or e2fsck, on a copy, before trusting what it holds.',
  NO_SPACE: 'Free some space on this computer’s disk and try again; what was finished is kept.',
  FORBIDDEN: 'Reload the window; if it keeps happening, restart Loopback Studio.',
  INTERNAL: 'This is a bug in Loopback Studio. The log has the details; please report it.',
  VALIDATION: 'Nothing was written: change the values and try again.',
};

function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'Something went wrong.';
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

export function explainError(error: unknown): Explained {
  if (error instanceof LoopbackError) {
    const text = sentence(error.message);
    const fix = FIXES[error.code] ?? null;
    // The message often already says that nothing was written; do not say it twice.
    const redundant = error.code === 'VALIDATION' && /nothing (was|is) (written|copied|changed)|writes nothing/i.test(error.message);
    return { text, fix: redundant ? null : fix, code: error.code };
  }
  return { text: sentence(error instanceof Error ? error.message : String(error)), fix: null, code: null };
}

/** The sentence alone, for a message at a field. */
export function errorText(error: unknown): string {
  return explainError(error).text;
}
