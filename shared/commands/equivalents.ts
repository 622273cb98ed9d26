/**
 * "Show commands" for each thing the app does to an image: the `loopstudio` line that does the
 * same from a terminal, then the classic tools' lines — the OSDev article's `dd`, `sfdisk`,
 * `mkfs.fat --offset` / `mke2fs -E offset=`, mtools, `debugfs`, `grub-install`, the loop device —
 * for people who learn the recipe or script it. (`loopstudio build --print-commands` writes the
 * same kind of lines for a whole recipe; electron/services/recipe-script.ts. The loop engine's
 * actions report the commands they ran as root; electron/platform/loop/equivalents.ts.)
 *
 * Every host path and every value is quoted for a POSIX shell (shared/util/shell-quote). The
 * tools that take no offset are given one the way they accept it: mtools' `IMG@@OFFSET`,
 * e2fsprogs' `IMG?offset=OFFSET`.
 */
import type { DiskInfo } from '../disk/disk-info';
import {
  DEFAULT_NUMBER_OF_PARTITION_ENTRIES,
  DEFAULT_PARTITION_ENTRY_LBA,
  DEFAULT_SIZE_OF_PARTITION_ENTRY,
  entryArraySectors,
} from '../disk/gpt/layout';
import { shellLine, shellQuote } from '../util/shell-quote';

const SECTOR = 512;
const q = shellQuote;
const BY_HAND = '# the same with the classic tools:';

/** The volume a command works on: the whole image, or a partition at a sector. */
export interface VolumeAt {
  image: string;
  /** null: the whole image (a floppy, a disk without a table). */
  partition: number | null;
  startSector: number;
  sectorCount: number;
}

function partitionArgs(volume: Pick<VolumeAt, 'partition'>): string[] {
  return volume.partition === null ? [] : ['-p', String(volume.partition)];
}

/** mtools' image argument: `IMG@@OFFSET` for a partition. */
function mtoolsImage(volume: VolumeAt): string {
  return q(volume.startSector ? `${volume.image}@@${volume.startSector * SECTOR}` : volume.image);
}

/** e2fsprogs' image argument: `IMG?offset=OFFSET` for a partition. */
function e2Image(volume: VolumeAt): string {
  return q(volume.startSector ? `${volume.image}?offset=${volume.startSector * SECTOR}` : volume.image);
}

function debugfs(volume: VolumeAt, request: string, write = true): string {
  return `debugfs ${write ? '-w ' : ''}-R ${q(request)} ${e2Image(volume)}`;
}

/** The article's loop device for a volume: `losetup -o OFFSET --sizelimit SIZE /dev/loop0 IMG`. */
export function losetupLine(volume: VolumeAt, device = '/dev/loop0'): string {
  const range = volume.startSector ? ['-o', String(volume.startSector * SECTOR), '--sizelimit', String(volume.sectorCount * SECTOR)] : [];
  return shellLine(['losetup', ...range, device, volume.image]);
}

// --- create ---

export interface CreateShape {
  floppy?: string;
  chs?: string;
  size?: number | string;
}

/** A new image file: `loopstudio create`, and the article's `dd` (or a sparse `truncate`). */
export function createCommands(
  image: string,
  shape: CreateShape,
  made: { sizeBytes: number; totalSectors: number; geometry: { cylinders: number; heads: number; sectorsPerTrack: number } },
): string[] {
  const option =
    shape.floppy !== undefined
      ? ['--floppy', shape.floppy]
      : shape.chs !== undefined
        ? ['--chs', shape.chs]
        : ['--size', String(shape.size)];
  const { cylinders, heads, sectorsPerTrack } = made.geometry;
  const perCylinder = heads * sectorsPerTrack * SECTOR;
  const dd =
    shape.floppy !== undefined
      ? `dd if=/dev/zero of=${q(image)} bs=512 count=${made.totalSectors}`
      : perCylinder * cylinders === made.sizeBytes
        ? `dd if=/dev/zero of=${q(image)} bs=${perCylinder}c count=${cylinders}   # ${cylinders} cylinders of ${heads} × ${sectorsPerTrack} × 512 bytes`
        : `dd if=/dev/zero of=${q(image)} bs=512 count=${made.totalSectors}`;
  return [
    shellLine(['loopstudio', 'create', image, ...option]),
    BY_HAND,
    dd,
    `# or sparse, as loopstudio makes it: truncate -s ${made.sizeBytes} ${q(image)}`,
  ];
}

// --- partition ---

export type PartitionStep =
  { op: 'add'; spec: string } | { op: 'delete'; number: string } | { op: 'set'; number: string; settings: string };

export interface PartitionPlan {
  table?: 'mbr' | 'gpt';
  fresh?: boolean;
  alignmentSectors?: number;
  steps: readonly PartitionStep[];
}

/** The table as an sfdisk script (`sfdisk IMG <<EOF … EOF` writes it). */
export function sfdiskScript(disk: Pick<DiskInfo, 'table' | 'partitions'>): string[] {
  const lines = [`label: ${disk.table === 'gpt' ? 'gpt' : 'dos'}`, 'unit: sectors'];
  // sfdisk would start a GPT's partitions at 2048; ours may use the sectors after the entry array.
  if (disk.table === 'gpt') {
    lines.push(
      `first-lba: ${DEFAULT_PARTITION_ENTRY_LBA + entryArraySectors(DEFAULT_NUMBER_OF_PARTITION_ENTRIES, DEFAULT_SIZE_OF_PARTITION_ENTRY)}`,
    );
  }
  lines.push('');
  for (const p of disk.partitions) {
    const fields = [`start=${p.startSector}`, `size=${p.sectorCount}`, `type=${p.type}`];
    if (disk.table === 'mbr' && p.bootable) fields.push('bootable');
    if (disk.table === 'gpt' && p.bootable) fields.push('attrs="LegacyBIOSBootable"');
    if (disk.table === 'gpt' && p.name) fields.push(`name="${p.name.replace(/["\\]/g, '')}"`);
    lines.push(`${p.index} : ${fields.join(', ')}`);
  }
  return lines;
}

/** Partition edits: `loopstudio partition` with the same steps, and the whole table as sfdisk writes it. */
export function partitionCommands(image: string, plan: PartitionPlan, after: Pick<DiskInfo, 'table' | 'partitions'>): string[] {
  const args = ['loopstudio', 'partition', image];
  if (plan.table) args.push('--table', plan.table);
  if (plan.fresh) args.push('--new');
  if (plan.alignmentSectors !== undefined) args.push('--align', String(plan.alignmentSectors));
  for (const step of plan.steps) {
    if (step.op === 'add') args.push('--add', step.spec);
    else if (step.op === 'delete') args.push('--delete', step.number);
    else args.push('--set', step.number, step.settings);
  }
  return [
    shellLine(args),
    `${BY_HAND} the table after the change, written whole`,
    `sfdisk --quiet ${q(image)} <<'EOF'`,
    ...sfdiskScript(after),
    'EOF',
  ];
}

// --- format ---

export interface FormatChoice {
  fs: 'fat12' | 'fat16' | 'fat32' | 'ext2';
  label?: string;
}

/** The mkfs line for a volume of the image, by offset (no root, no loop device). */
function mkfsLines(volume: VolumeAt, choice: FormatChoice): string[] {
  const kib = Math.floor((volume.sectorCount * SECTOR) / 1024);
  if (choice.fs === 'ext2') {
    const args = ['mke2fs', '-q', '-F', '-t', 'ext2', ...(choice.label ? ['-L', choice.label] : [])];
    if (volume.startSector) args.push('-E', `offset=${volume.startSector * SECTOR}`);
    return [`${shellLine([...args, volume.image])} ${kib}k`];
  }
  const args = ['mkfs.fat', '-F', choice.fs.slice(3), ...(choice.label ? ['-n', choice.label.toUpperCase()] : [])];
  if (volume.partition === null) return [shellLine([...args, volume.image])];
  return [`${shellLine([...args, '--offset', String(volume.startSector), '-h', String(volume.startSector), volume.image])} ${kib}`];
}

/** Formatting a volume: `loopstudio format`, mkfs at the volume's offset, and the article's loop-device way. */
export function formatCommands(volume: VolumeAt, choice: FormatChoice): string[] {
  const cli = [
    'loopstudio',
    'format',
    volume.image,
    ...partitionArgs(volume),
    '--fs',
    choice.fs,
    ...(choice.label ? ['--label', choice.label] : []),
  ];
  const onDevice =
    choice.fs === 'ext2'
      ? ['mke2fs', '-t', 'ext2', ...(choice.label ? ['-L', choice.label] : [])]
      : ['mkfs.fat', '-F', choice.fs.slice(3), ...(choice.label ? ['-n', choice.label.toUpperCase()] : [])];
  return [
    shellLine(cli),
    BY_HAND,
    ...mkfsLines(volume, choice),
    '# or through a loop device, as root (the article’s way):',
    losetupLine(volume),
    shellLine([...onDevice, '/dev/loop0']),
    'losetup -d /dev/loop0',
  ];
}

// --- files ---

export type FsFamily = 'fat' | 'ext2';

export function fsFamily(type: string): FsFamily {
  return type === 'ext2' ? 'ext2' : 'fat';
}

function join(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

function base(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Host files and folders copied into a folder of the volume. */
export function putCommands(volume: VolumeAt, family: FsFamily, sources: readonly string[], dest: string): string[] {
  const lines = [shellLine(['loopstudio', 'put', volume.image, ...partitionArgs(volume), ...sources, dest]), BY_HAND];
  if (family === 'fat') lines.push(`mcopy -s -o -i ${mtoolsImage(volume)} ${sources.map(q).join(' ')} ${q(`::${dest}`)}`);
  else
    lines.push(
      ...sources.map((source) => debugfs(volume, `write ${source} ${join(dest, base(source))}`)),
      '# (debugfs writes files; copy a folder through a mount: loopstudio mount)',
    );
  return lines;
}

export function mkdirCommands(volume: VolumeAt, family: FsFamily, path: string): string[] {
  return [
    shellLine(['loopstudio', 'mkdir', volume.image, ...partitionArgs(volume), path]),
    BY_HAND,
    family === 'fat' ? `mmd -i ${mtoolsImage(volume)} ${q(`::${path}`)}` : debugfs(volume, `mkdir ${path}`),
  ];
}

export function removeCommands(volume: VolumeAt, family: FsFamily, path: string, folder: boolean): string[] {
  const cli = shellLine(['loopstudio', 'rm', volume.image, ...partitionArgs(volume), path, ...(folder ? ['-r'] : [])]);
  if (family === 'fat') return [cli, BY_HAND, `${folder ? 'mdeltree' : 'mdel'} -i ${mtoolsImage(volume)} ${q(`::${path}`)}`];
  return [
    cli,
    BY_HAND,
    folder ? `${debugfs(volume, `rmdir ${path}`)}   # an empty folder; a full one through a mount` : debugfs(volume, `rm ${path}`),
  ];
}

export function renameCommands(volume: VolumeAt, family: FsFamily, from: string, to: string): string[] {
  const lines = ['# loopstudio has no rename command; through a mount it is mv', BY_HAND];
  if (family === 'fat') lines.push(`mren -i ${mtoolsImage(volume)} ${q(`::${from}`)} ${q(`::${to}`)}`);
  else lines.push(debugfs(volume, `ln ${from} ${to}`), debugfs(volume, `unlink ${from}`));
  return lines;
}

export function getCommands(volume: VolumeAt, family: FsFamily, path: string, out: string, folder: boolean): string[] {
  const lines = [shellLine(['loopstudio', 'get', volume.image, ...partitionArgs(volume), path, out]), BY_HAND];
  if (family === 'fat') lines.push(`mcopy -s -i ${mtoolsImage(volume)} ${q(`::${path}`)} ${q(out)}`);
  else lines.push(debugfs(volume, folder ? `rdump ${path} ${out}` : `dump ${path} ${join(out, base(path))}`, false));
  return lines;
}

// --- boot loader ---

export interface BootloaderChoice {
  loader: 'grub2' | 'grub-legacy' | 'boot-sector';
  firmware?: 'bios' | 'uefi' | 'both';
  stageDir?: string;
  bootSector?: string;
  overwriteBpb?: boolean;
  overwriteTable?: boolean;
  kernelFile?: string;
  menu?: {
    timeout?: number;
    serial?: boolean;
    entries: readonly {
      title: string;
      kernel: string;
      type?: string;
      cmdline?: string;
      modules?: readonly (string | { path: string; cmdline?: string })[];
    }[];
  };
}

/** Which bytes of sector 0 a boot sector install keeps (the BPB of a FAT, a disk's partition table). */
function keptRanges(fs: string | null, keepTable: boolean, overwriteBpb: boolean): Array<[number, number]> {
  const kept: Array<[number, number]> = [];
  if (fs && fs !== 'ext2' && !overwriteBpb) kept.push([3, fs === 'fat32' ? 90 : 62]);
  if (keepTable) kept.push([440, 510]);
  return kept;
}

/** Installing a boot loader: `loopstudio bootloader`, and how the classic tools do it. */
export function bootloaderCommands(
  volume: VolumeAt,
  choice: BootloaderChoice,
  disk: { table: 'mbr' | 'gpt' | 'none'; floppy: boolean; fs: string | null },
): string[] {
  const args = ['loopstudio', 'bootloader', volume.image, ...partitionArgs(volume)];
  if (choice.loader === 'grub2')
    args.push('--grub2', ...(choice.firmware && choice.firmware !== 'bios' ? ['--firmware', choice.firmware] : []));
  else if (choice.loader === 'grub-legacy') args.push('--grub-legacy', ...(choice.stageDir ? ['--stage-dir', choice.stageDir] : []));
  else
    args.push(
      '--boot-sector',
      choice.bootSector ?? '',
      ...(choice.overwriteBpb ? ['--overwrite-bpb'] : []),
      ...(choice.overwriteTable ? ['--overwrite-table'] : []),
    );
  const entry = choice.menu?.entries[0];
  if (entry) {
    args.push('--kernel', entry.kernel, '--kernel-type', entry.type ?? 'multiboot', '--title', entry.title);
    if (entry.cmdline) args.push('--cmdline', entry.cmdline);
    for (const m of entry.modules ?? []) args.push('--module', typeof m === 'string' ? m : [m.path, m.cmdline].filter(Boolean).join(' '));
    if (choice.kernelFile) args.push('--kernel-file', choice.kernelFile);
    if (choice.menu?.timeout !== undefined) args.push('--timeout', String(choice.menu.timeout));
    if (choice.menu?.serial) args.push('--serial');
  }
  const lines = [shellLine(args), BY_HAND];
  const image = q(volume.image);
  if (choice.loader === 'boot-sector') {
    const file = choice.bootSector ?? 'boot.bin';
    const at = volume.startSector * SECTOR;
    const kept = keptRanges(disk.fs, volume.partition === null && disk.table === 'mbr' && !choice.overwriteTable, !!choice.overwriteBpb);
    let from = 0;
    const ranges: Array<[number, number]> = [];
    for (const [start, end] of kept) {
      ranges.push([from, start]);
      from = end;
    }
    ranges.push([from, SECTOR]);
    if (kept.length)
      lines.push(
        `# sector 0${volume.partition === null ? '' : ` of partition ${volume.partition}`} around the bytes it keeps (${kept.map(([s, e]) => `${s}–${e - 1}`).join(', ')})`,
      );
    for (const [start, end] of ranges.filter(([s, e]) => e > s)) {
      lines.push(`dd if=${q(file)} of=${image} bs=1 skip=${start} seek=${at + start} count=${end - start} conv=notrunc status=none`);
    }
    return lines;
  }
  const hardDisk = disk.table !== 'none' || !disk.floppy;
  if (choice.loader === 'grub-legacy') {
    const root = hardDisk ? (volume.partition === null ? '(hd0)' : `(hd0,${volume.partition - 1})`) : '(fd0)';
    const drive = hardDisk ? '(hd0)' : '(fd0)';
    lines.push(
      '# copy stage1 and stage2 (and menu.lst) to /boot/grub in the volume, then run the grub shell on the image:',
      `printf 'device ${drive} %s\\nroot ${root}\\nsetup ${drive}\\nquit\\n' ${image} | grub --batch --device-map=/dev/null`,
    );
    return lines;
  }
  if (choice.firmware === 'uefi') {
    lines.push(
      '# a FAT volume with GRUB for UEFI in the removable-media path:',
      `grub-mkstandalone -O x86_64-efi -o BOOTX64.EFI 'boot/grub/grub.cfg=grub.cfg'`,
      `mmd -i ${mtoolsImage(volume)} ::/EFI ::/EFI/BOOT`,
      `mcopy -i ${mtoolsImage(volume)} BOOTX64.EFI ::/EFI/BOOT/BOOTX64.EFI`,
    );
    return lines;
  }
  lines.push(
    '# as root: the image on a loop device with its partitions, the volume mounted, then grub-install',
    'losetup --find --show --partscan ' + image + '   # prints /dev/loop0',
    `mount /dev/loop0${volume.partition === null ? '' : `p${volume.partition}`} /mnt`,
    `grub-install --target=i386-pc --boot-directory=/mnt/boot --modules=${q(`${disk.table === 'gpt' ? 'part_gpt' : 'part_msdos'} ${disk.fs === 'ext2' ? 'ext2' : 'fat'}`)} /dev/loop0`,
    'umount /mnt',
    'losetup -d /dev/loop0',
  );
  return lines;
}

// --- mount ---

export function mountCommands(image: string, partition: number | null): string[] {
  return [shellLine(['loopstudio', 'mount', image, ...partitionArgs({ partition })])];
}
