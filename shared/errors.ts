/**
 * Errors that cross process boundaries (IPC, the harness WebSocket, the CLI's --json output).
 *
 * Only plain fields travel: a stable `code` a program can branch on, a `message` written for a
 * person (what went wrong, where, and what to do), and optional `details` with the facts
 * (file, partition, sector …). Anything else an Error carries (stack, cause) stays on its side.
 */

export const ERROR_CODES = [
  'INVALID_INPUT', // a payload failed its schema
  'UNKNOWN_METHOD', // a method name that the contract does not have
  'FORBIDDEN', // a sender or token that is not ours
  'CANCELLED', // the user (or a job's cancel) stopped the work
  'NOT_FOUND', // a file, partition or path that does not exist
  'ALREADY_EXISTS', // refusing to overwrite
  'HOST_TOOL_MISSING', // a host program we need is not installed
  'IO', // the operating system refused a read or a write
  'NO_SPACE', // the host (or the volume) ran out of space while writing: what was finished is kept
  'CORRUPT', // on-disk data is damaged or crafted (a table, a boot sector, a folder, a chain …): fsck/e2fsck may repair it
  'VALIDATION', // a request that would produce an invalid disk (overlap, out of range …): nothing was written
  'IN_USE', // the bytes are held by a loop device or a mount (ours or anyone's): nothing was written
  'INTERNAL', // a bug: anything we did not anticipate
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SerializedError {
  name: 'LoopbackError';
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class LoopbackError extends Error {
  override readonly name = 'LoopbackError';
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    if (details !== undefined) this.details = details;
  }

  toJSON(): SerializedError {
    return serializeError(this);
  }
}

/** Turns anything thrown into the plain shape that may cross a boundary. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof LoopbackError) {
    return {
      name: 'LoopbackError',
      code: error.code,
      message: error.message,
      ...(error.details !== undefined ? { details: error.details } : {}),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { name: 'LoopbackError', code: 'INTERNAL', message };
}

/** The other side of serializeError: a real Error again, so callers can `catch` as usual. */
export function deserializeError(error: SerializedError): LoopbackError {
  return new LoopbackError(error.code, error.message, error.details);
}

/** The envelope every call answers with, so errors keep their fields across Electron's IPC. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: SerializedError };
