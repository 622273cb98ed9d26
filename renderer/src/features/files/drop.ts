/**
 * What was dropped on the window. In the app, each dropped file or folder has a host path
 * (window.loopbackHost.pathForFile) and the service copies it itself. In a browser there are no
 * paths: the files (and the contents of dropped folders, through the File and Directory Entries
 * API) are read here and their bytes sent.
 *
 * The DataTransfer is only readable during the drop event, so `readDrop` takes what it needs
 * synchronously and returns a function that finishes the (asynchronous) reading afterwards.
 */
import type { HostBridge } from '../../host';
import type { DroppedFile } from '../../stores/files';

export type Drop = { kind: 'paths'; paths: string[] } | { kind: 'files'; read: () => Promise<DroppedFile[]> } | { kind: 'nothing' };

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, prefix: string, out: DroppedFile[]): Promise<void> {
  const name = `${prefix}${entry.name}`;
  if (entry.isFile) {
    out.push({ name, file: await fileOf(entry as FileSystemFileEntry) });
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries answers in batches; an empty batch means the folder is done.
    for (let batch = await readEntries(reader); batch.length > 0; batch = await readEntries(reader)) {
      for (const child of batch) await walk(child, `${name}/`, out);
    }
  }
}

export function readDrop(data: DataTransfer, host: HostBridge | null): Drop {
  const files = [...data.files];
  if (files.length === 0) return { kind: 'nothing' };
  if (host) {
    const paths = files.map((f) => host.pathForFile(f)).filter((p): p is string => p !== null);
    if (paths.length > 0) return { kind: 'paths', paths };
  }
  const items = [...data.items].filter((item) => item.kind === 'file');
  const entries = items.map((item) => (typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null));
  return {
    kind: 'files',
    read: async () => {
      const out: DroppedFile[] = [];
      for (const [i, file] of files.entries()) {
        const entry = entries[i];
        if (entry?.isDirectory) await walk(entry, '', out);
        else out.push({ name: file.name, file });
      }
      return out;
    },
  };
}

/** Whether a drag carries files (and not, say, text from another field). */
export function carriesFiles(data: DataTransfer | null): boolean {
  return !!data && [...data.types].includes('Files');
}
