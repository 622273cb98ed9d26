/**
 * Who holds an image file right now: every loop-type device whose backing file is this image (by
 * device and inode, not by name — ours or anyone's: `loopstudio mount`, `mount -o loop,offset=…`
 * by hand, GNOME Disks), which bytes of the file it shows, whether it is read-only, and where it
 * (or a partition node of it) is mounted. Read without root: Linux's sysfs and mount table; on the
 * BSDs the loop tool's own listing. The write guard (electron/services/write-guard.ts) and the
 * QEMU launcher use it so that nothing writes underneath a mount (docs/SECURITY.md, rule 3).
 */
import { promises as fs, type Stats } from 'node:fs';
import { loopBackendFor } from './loop/index';
import { parseProcMounts } from './loop/linux';
import type { LoopBackend, MountEntry } from './loop/types';
import { runCommand, SYSTEM_DIRS } from './run';
import { release } from 'node:os';

export interface HolderMount {
  /** The node that is mounted: the device itself or one of its partition nodes. */
  source: string;
  mountPoint: string;
  readOnly: boolean;
}

export interface ImageHolder {
  /** /dev/loop3, /dev/md0, /dev/vnd0 */
  device: string;
  /** The bytes of the image the device shows. sizeBytes null: to the end of the file. */
  offsetBytes: number;
  sizeBytes: number | null;
  readOnly: boolean;
  mounts: HolderMount[];
}

const readSys = (path: string): Promise<string | null> =>
  fs.readFile(path, 'utf8').then(
    (text) => text.replace(/\n$/, ''),
    () => null,
  );

async function sameFileAs(path: string, image: Stats): Promise<boolean> {
  const stats = await fs.stat(path).catch(() => null);
  return stats !== null && stats.isFile() && stats.dev === image.dev && stats.ino === image.ino;
}

function mountsOf(device: string, partitionNodes: readonly string[], table: readonly MountEntry[]): HolderMount[] {
  return table
    .filter((entry) => entry.source === device || partitionNodes.includes(entry.source))
    .map((entry) => ({ source: entry.source, mountPoint: entry.mountPoint, readOnly: entry.options.includes('ro') }));
}

/** Linux: /sys/block/loopN/loop/{backing_file,offset,sizelimit}, /sys/block/loopN/ro, /proc/self/mounts. */
export async function linuxImageHolders(image: Stats, sys = '/sys', mountsFile = '/proc/self/mounts'): Promise<ImageHolder[]> {
  const names = (await fs.readdir(`${sys}/block`).catch(() => [] as string[])).filter((name) => /^loop\d+$/.test(name));
  let table: MountEntry[] | null = null;
  const holders: ImageHolder[] = [];
  for (const name of names) {
    const backing = await readSys(`${sys}/block/${name}/loop/backing_file`);
    if (backing === null || !(await sameFileAs(backing, image))) continue;
    const offsetBytes = Number((await readSys(`${sys}/block/${name}/loop/offset`)) ?? '0');
    const sizeLimitBytes = Number((await readSys(`${sys}/block/${name}/loop/sizelimit`)) ?? '0');
    const readOnly = (await readSys(`${sys}/block/${name}/ro`)) === '1';
    const partitionNodes = (await fs.readdir(`${sys}/block/${name}`).catch(() => [] as string[]))
      .filter((entry) => entry.startsWith(`${name}p`))
      .map((entry) => `/dev/${entry}`);
    table ??= parseProcMounts(await fs.readFile(mountsFile, 'utf8').catch(() => ''));
    holders.push({
      device: `/dev/${name}`,
      offsetBytes,
      sizeBytes: sizeLimitBytes > 0 ? sizeLimitBytes : null,
      readOnly,
      mounts: mountsOf(`/dev/${name}`, partitionNodes, table),
    });
  }
  return holders;
}

/** The BSDs: the loop tool's listing (mdconfig -l -v, vnconfig -l) and `mount -p`; whole-file devices. */
async function bsdImageHolders(backend: LoopBackend, image: Stats): Promise<ImageHolder[]> {
  const list = backend.list();
  if (!list) return [];
  const listed = await runCommand(list, { dirs: SYSTEM_DIRS });
  if (listed.exitCode !== 0) return [];
  const tableCommand = backend.mountTable();
  const tableText = tableCommand ? (await runCommand(tableCommand, { dirs: SYSTEM_DIRS })).stdout : '';
  const table = backend.parseMountTable(tableText);
  const holders: ImageHolder[] = [];
  for (const entry of backend.parseList(listed.stdout)) {
    if (!entry.inUse || entry.backingFile === null) continue;
    const same =
      entry.inode !== null
        ? entry.inode === image.ino && (await sameFileAs(entry.backingFile, image))
        : await sameFileAs(entry.backingFile, image);
    if (!same) continue;
    const mounts = table
      .filter((m) => backend.isDeviceName(m.source) && backend.wholeDevice(m.source) === entry.device)
      .map((m) => ({ source: m.source, mountPoint: m.mountPoint, readOnly: m.options.includes('ro') || m.options.includes('read-only') }));
    holders.push({
      device: entry.device,
      offsetBytes: entry.offsetBytes,
      sizeBytes: entry.sizeLimitBytes || null,
      readOnly: false,
      mounts,
    });
  }
  return holders;
}

/** Every device that holds `imagePath` now; [] where the system has no loop devices or lists none. */
export async function imageHolders(imagePath: string): Promise<ImageHolder[]> {
  const image = await fs.stat(imagePath);
  if (process.platform === 'linux') return linuxImageHolders(image);
  const backend = loopBackendFor(process.platform, release());
  return backend ? bsdImageHolders(backend, image) : [];
}
