/**
 * The schema-free part of the file API (files.ts): what the renderer needs at run time. Kept
 * apart because importing files.ts runs its zod schemas, which would put zod in the renderer's
 * first download; the renderer never validates (the services do). files.ts re-exports these.
 */

/**
 * The most a browser may send in one `fs.upload` call, decoded. The WebSocket carries it as
 * base64 (4/3 larger) in one message under the harness's 16 MiB limit; the app's own drops use
 * `fs.put` with host paths and have no such limit.
 */
export const UPLOAD_MAX_BYTES = 8 * 1024 * 1024;

/**
 * The title of the job that copies files into a volume. The service names its job with it, and
 * the file browser finds its own copy's progress by it among the jobProgress events.
 */
export function copyJobTitle(imageName: string, partition: number | undefined): string {
  return `Copy into ${partition === undefined ? imageName : `partition ${partition} of ${imageName}`}`;
}
