/**
 * Files a browser dropped, copied into a volume. A browser cannot say where a dropped file lives
 * on the host (Electron can, and uses fs.put), so the web harness's UI sends the bytes. They are
 * staged in a private temporary folder, keeping the dropped folders' structure and the files'
 * dates, and copied in by putFiles — so a drop gets exactly the checks and progress of `put`
 * (legal names, enough free space, nothing written when either fails). The folder is removed
 * afterwards, whatever happened.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LoopbackError } from '../../shared/errors';
import type { ProgressOptions } from '../../shared/fs/types';
import { putFiles, type PutResult } from './files';
import type { VolumeRef } from './volumes';

export interface UploadedFile {
  /** Relative path: "notes.txt" or "src/main.c" (validated by the contract: no "..", no leading "/"). */
  name: string;
  data: Uint8Array;
  modifiedMs?: number;
}

export async function uploadFiles(
  ref: VolumeRef,
  dest: string,
  files: readonly UploadedFile[],
  options: ProgressOptions = {},
): Promise<PutResult> {
  if (files.length === 0) throw new LoopbackError('INVALID_INPUT', 'no files to copy in');
  const staging = await fs.mkdtemp(join(tmpdir(), 'loopstudio-upload-'));
  try {
    const tops = new Set<string>();
    for (const file of files) {
      const parts = file.name.split('/');
      if (parts.some((part) => part === '' || part === '.' || part === '..')) {
        throw new LoopbackError('INVALID_INPUT', `"${file.name}" is not a relative path inside the drop`, { name: file.name });
      }
      const target = join(staging, ...parts);
      await fs.mkdir(dirname(target), { recursive: true });
      await fs.writeFile(target, file.data, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
        throw new LoopbackError(
          error.code === 'EEXIST' ? 'INVALID_INPUT' : 'IO',
          error.code === 'EEXIST' ? `"${file.name}" was sent twice` : `${file.name}: ${error.message}`,
        );
      });
      if (file.modifiedMs !== undefined) {
        const when = new Date(file.modifiedMs);
        await fs.utimes(target, when, when);
      }
      tops.add(parts[0]!);
    }
    return await putFiles(
      ref,
      [...tops].sort().map((top) => join(staging, top)),
      dest,
      options,
    );
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
