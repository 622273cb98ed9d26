/**
 * Linux: util-linux `losetup`, `mount`/`umount`, e2fsprogs `mke2fs`, dosfstools `mkfs.fat`.
 *
 * Unlike the BSDs, Linux attaches one partition on its own (`losetup -o OFFSET --sizelimit SIZE`),
 * which is the OSDev article's `losetup -o32256 /dev/loop0 c.img`: the device *is* the partition.
 */
import { LoopbackError } from '../../../shared/errors';
import { unescapeMountField } from '../../../shared/util/shell-quote';
import { mke2fsBlocks, sectorsPerCluster } from './mkfs-args';
import type { AttachSpec, HostCommand, LoopBackend, LoopDeviceEntry, MkfsSpec, MountEntry, MountSpec } from './types';

const LOOP_NAME = /^\/dev\/loop(\d+)(?:p(\d+))?$/;

/** The columns `losetup --list` prints for us: the backing file and its inode, offset, size limit. */
export const LOSETUP_COLUMNS = 'NAME,BACK-FILE,BACK-INO,OFFSET,SIZELIMIT';

const FAT_BITS = { fat12: '12', fat16: '16', fat32: '32' } as const;

function attach(spec: AttachSpec): HostCommand {
  const args = ['--find', '--show'];
  if (spec.offsetBytes) args.push('--offset', String(spec.offsetBytes));
  if (spec.sizeBytes) args.push('--sizelimit', String(spec.sizeBytes));
  if (spec.partscan) args.push('--partscan');
  if (spec.readOnly) args.push('--read-only');
  // `--` keeps a file named "--leading-dash.img" from being read as an option.
  args.push('--', spec.image);
  return { program: 'losetup', args };
}

function parseAttach(stdout: string): string {
  const device = stdout.trim();
  if (!/^\/dev\/loop\d+$/.test(device)) {
    throw new LoopbackError('IO', `losetup --find --show printed "${device.slice(0, 80)}", not a loop device name`);
  }
  return device;
}

interface LosetupJson {
  loopdevices?: {
    name: string;
    'back-file'?: string | null;
    'back-ino'?: number | string | null;
    offset?: number | string | null;
    sizelimit?: number | string | null;
  }[];
}

const toNumber = (value: number | string | null | undefined): number | null =>
  value === null || value === undefined || value === '' ? null : Number(value);

/** `losetup --json --list -O …`: older util-linux prints nothing at all when no device is set up. */
function parseList(stdout: string): LoopDeviceEntry[] {
  if (stdout.trim() === '') return [];
  const parsed = JSON.parse(stdout) as LosetupJson;
  return (parsed.loopdevices ?? []).map((d) => ({
    device: d.name,
    inUse: true,
    backingFile: d['back-file'] ?? null,
    offsetBytes: toNumber(d.offset) ?? 0,
    sizeLimitBytes: toNumber(d.sizelimit),
    inode: toNumber(d['back-ino']),
  }));
}

function mount(spec: MountSpec): HostCommand {
  const options: string[] = [];
  if (spec.readOnly) options.push('ro');
  // FAT stores no owners: the vfat driver shows every file as uid/gid, so the user can write.
  if (spec.family === 'fat') options.push(`uid=${spec.uid}`, `gid=${spec.gid}`);
  const args = ['-t', spec.family === 'fat' ? 'vfat' : 'ext2'];
  if (options.length) args.push('-o', options.join(','));
  args.push('--', spec.device, spec.dir);
  return { program: 'mount', args };
}

function mkfs(spec: MkfsSpec): HostCommand {
  if (spec.fs === 'ext2') {
    // The article's `mke2fs -b1024 /dev/loop0 #blocks`. No -F: mke2fs itself refuses a mounted device too.
    const args = ['-t', 'ext2', '-b', String(spec.blockBytes ?? 1024)];
    if (spec.label) args.push('-L', spec.label);
    return { program: 'mke2fs', args: [...args, '--', spec.device, ...mke2fsBlocks(spec)] };
  }
  const blocks = spec.blocks1KiB !== undefined ? [String(spec.blocks1KiB)] : [];
  const args = ['-F', FAT_BITS[spec.fs]];
  if (spec.clusterBytes !== undefined) args.push('-s', sectorsPerCluster(spec.clusterBytes));
  if (spec.label) args.push('-n', spec.label);
  if (spec.hiddenSectors !== undefined) args.push('-h', String(spec.hiddenSectors));
  if (spec.heads && spec.sectorsPerTrack) args.push('-g', `${spec.heads}/${spec.sectorsPerTrack}`);
  // A loop device looks like a whole disk to mkfs.fat, which would then write a fake MBR
  // partition entry into the boot sector: wrong for a partition, and for a floppy.
  args.push('--mbr=n');
  return { program: 'mkfs.fat', args: [...args, spec.device, ...blocks] };
}

/** Asks the kernel to add one partition node of a loop device (/dev/loop0p1) from its table. */
export function partxAdd(device: string, index: number): HostCommand {
  return { program: 'partx', args: ['--add', '--nr', String(index), device] };
}

/** /proc/self/mounts: `source mountpoint type options 0 0`, blanks in names as \040. */
export function parseProcMounts(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 4) continue;
    entries.push({
      source: unescapeMountField(fields[0]!),
      mountPoint: unescapeMountField(fields[1]!),
      type: fields[2]!,
      options: fields[3]!.split(','),
    });
  }
  return entries;
}

export const linuxBackend: LoopBackend = {
  system: 'linux',
  tool: 'losetup',
  attachesByOffset: true,
  attachNeedsUnit: false,
  attach,
  parseAttach,
  detach: (device) => ({ program: 'losetup', args: ['--detach', device] }),
  list: () => ({ program: 'losetup', args: ['--json', '--list', '--output', LOSETUP_COLUMNS] }),
  parseList,
  isDeviceName: (path) => LOOP_NAME.test(path),
  // "/dev/loop1" ends in "p1" too: only a "p" after the loop number starts a partition.
  wholeDevice: (path) => path.replace(/^(\/dev\/loop\d+)p\d+$/, '$1'),
  partitionIndexOf: (path) => {
    const match = LOOP_NAME.exec(path);
    return match?.[2] ? Number(match[2]) : null;
  },
  partitionDevice: (device, index) => `${device}p${index}`,
  rawDevice: (device) => device,
  mount,
  unmount: (dir) => ({ program: 'umount', args: ['--', dir] }),
  mkfs,
  mountTable: () => null,
  parseMountTable: parseProcMounts,
};
