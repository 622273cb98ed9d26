/**
 * `loopstudio build --print-commands`: the shell script that makes the same image with the
 * classic tools — truncate, sfdisk, mkfs.fat --offset / mke2fs -E offset= -d, mtools, grub-mkimage
 * and dd — for people who want to see, keep or adapt the steps. It runs without root.
 *
 * One step has no classic tool any more: GRUB legacy's `setup`, which lives in the 32-bit `grub`
 * shell that current systems often cannot run. The script copies the stage files as the article
 * does and then calls `loopstudio bootloader --grub-legacy`, which does what `setup` does.
 *
 * Every host path and every value from the recipe is quoted for the shell (shared/util/shell-quote).
 */
import { BPB_START, FAT1216_BPB_END, FAT32_BPB_END, MBR_TABLE_END, MBR_TABLE_START, SECTOR_BYTES } from '../../shared/boot/boot-sector';
import { BOOT_IMG, CORE_IMG, EFI_BOOT_FILE, MBR_CODE_BYTES } from '../../shared/boot/grub2';
import { grubLegacyDevice } from '../../shared/boot/grub-legacy';
import { grubCfg, menuLst } from '../../shared/boot/menu';
import { resolvePartitionType } from '../../shared/disk/gpt/types';
import { shellLine, shellQuote } from '../../shared/util/shell-quote';
import { grubMkimageArgs } from '../platform/grub-files';
import { grubCfgModules } from './bootloaders';
import { isoScript } from './iso-script';
import { defaultOutput, defaultOutputFor, type PlannedVolume, type RecipePlan } from './recipes';
import { sfdiskScript } from '../../shared/commands/equivalents';
import { mbrTypeForFat } from './volumes';

const q = shellQuote;
/** A placeholder for grub-mkimage's output, replaced by "$WORK/core.img" (which must stay unquoted for the shell). */
const CORE_OUTPUT = '\0core';
/** Where the script builds BOOTX64.EFI before the volumes are filled. */
const EFI_WORK_FILE = 'BOOTX64.EFI';

/** The partition type the image ends up with: formatVolume makes it match the filesystem. */
function finalType(plan: RecipePlan, volume: PlannedVolume | undefined, index: number): string {
  const info = plan.disk!.partitions.find((p) => p.index === index)!;
  if (plan.table === 'mbr') {
    if (!volume) return info.type;
    return volume.fs.type === 'ext2' ? '83' : mbrTypeForFat(volume.fs.type, info).toString(16).padStart(2, '0');
  }
  if (!volume || info.typeName === 'EFI System') return info.type;
  return resolvePartitionType(volume.fs.type === 'ext2' ? 'linux' : 'msdata');
}

/** The table as sfdisk writes it (shared with the app's Show commands), with each partition's final type. */
function recipeSfdiskScript(plan: RecipePlan): string[] {
  const partitions = plan.disk!.partitions.map((info) => ({
    ...info,
    type: finalType(
      plan,
      plan.volumes.find((v) => v.partition === info.index),
      info.index,
    ),
  }));
  return sfdiskScript({ table: plan.table!, partitions });
}

/** mtools' image argument for a volume: IMG@@OFFSET. */
function mtoolsImage(volume: PlannedVolume): string {
  return volume.startSector ? `"$IMG@@${volume.startSector * SECTOR_BYTES}"` : '"$IMG"';
}

function stagingDir(volume: PlannedVolume): string {
  return `"$WORK/${volume.partition === null ? 'disk' : `p${volume.partition}`}"`;
}

/** What to put into a volume: a host file or folder, text written by the script, or files matching globs. */
type Put =
  | { to: string; from: string; folder?: boolean }
  | { to: string; text: string; name: string }
  | { to: string; globDir: string; patterns: string[] }
  /** A file an earlier line of the script built into $WORK. */
  | { to: string; work: string };

function heredoc(path: string, text: string): string[] {
  return [`cat > ${path} <<'LOOPSTUDIO_EOF'`, ...text.replace(/\n$/, '').split('\n'), 'LOOPSTUDIO_EOF'];
}

function putsFor(plan: RecipePlan, volume: PlannedVolume): Put[] {
  const puts: Put[] = plan.copies.filter((c) => c.volume === volume).map((c) => ({ to: c.to, from: c.from, folder: c.folder }));
  const b = plan.bootloader;
  if (b && b.kind !== 'boot-sector' && b.volume === volume) {
    const hardDisk = plan.table !== null || plan.shape.floppy === null;
    if (b.kind === 'grub-legacy') {
      // The article: cp /lib/grub/i386-pc/stage[12] /mnt/myfloppy/grub
      puts.push({ to: '/boot/grub/stage1', from: b.prepared.files.stage1 }, { to: '/boot/grub/stage2', from: b.prepared.files.stage2 });
      if (b.menu)
        puts.push({ to: '/boot/grub/menu.lst', text: menuLst(b.menu, grubLegacyDevice(hardDisk, volume.partition)), name: 'menu.lst' });
    } else {
      // grub-install's copy: every module and index file.
      if (b.bios) puts.push({ to: '/boot/grub/i386-pc', globDir: b.bios.prepared.files.dir, patterns: ['*.mod', '*.lst'] });
      if (b.efi) puts.push({ to: EFI_BOOT_FILE, work: EFI_WORK_FILE });
      if (b.menu)
        puts.push({
          to: '/boot/grub/grub.cfg',
          text: grubCfg(b.menu, grubCfgModules(plan.table ?? 'none', volume.fs.type)),
          name: 'grub.cfg',
        });
    }
  }
  return puts;
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/** The folders to create, parents first, for mtools (mmd fails on an existing folder). */
function foldersFor(puts: readonly Put[]): string[] {
  const folders = new Set<string>();
  for (const put of puts) {
    const dir = ('from' in put && put.folder) || 'globDir' in put ? put.to : parentOf(put.to);
    const parts = dir.split('/').filter(Boolean);
    parts.forEach((_, i) => folders.add(`/${parts.slice(0, i + 1).join('/')}`));
  }
  return [...folders];
}

/** The folder quoted, the patterns not: they must expand. */
function globs(put: { globDir: string; patterns: string[] }): string {
  return put.patterns.map((pattern) => `${q(put.globDir)}/${pattern}`).join(' ');
}

function fatVolumeCommands(plan: RecipePlan, volume: PlannedVolume): string[] {
  const lines: string[] = [];
  const args = ['mkfs.fat', '-F', volume.fs.type.slice(3)];
  if (volume.fs.label) args.push('-n', volume.fs.label.toUpperCase());
  if (volume.fs.clusterSize) args.push('-s', String(volume.fs.clusterSize / SECTOR_BYTES));
  const wholeDisk = volume.partition === null;
  if (!wholeDisk) args.push('--offset', String(volume.startSector), '-h', String(volume.startSector));
  lines.push(`${shellLine(args)} "$IMG"${wholeDisk ? '' : ` ${Math.floor(volume.sizeBytes / 1024)}`}`);
  const puts = putsFor(plan, volume);
  const image = mtoolsImage(volume);
  for (const folder of foldersFor(puts)) lines.push(`mmd -i ${image} ${q(`::${folder}`)}`);
  for (const put of puts) {
    if ('text' in put) {
      lines.push(...heredoc(`"$WORK/${put.name}"`, put.text), `mcopy -o -i ${image} "$WORK/${put.name}" ${q(`::${put.to}`)}`);
    } else if ('work' in put) {
      lines.push(`mcopy -o -i ${image} "$WORK/${put.work}" ${q(`::${put.to}`)}`);
    } else if ('globDir' in put) {
      lines.push(`mcopy -o -i ${image} ${globs(put)} ${q(`::${put.to}/`)}`);
    } else if (put.folder) {
      lines.push(`mcopy -o -s -i ${image} ${q(`${put.from}/`)}* ${q(`::${put.to}/`)}`);
    } else {
      lines.push(`mcopy -o -i ${image} ${q(put.from)} ${q(`::${put.to}`)}`);
    }
  }
  return lines;
}

function ext2VolumeCommands(plan: RecipePlan, volume: PlannedVolume): string[] {
  const stage = stagingDir(volume);
  const lines = [`mkdir -p ${stage}`];
  const puts = putsFor(plan, volume);
  for (const folder of foldersFor(puts)) lines.push(`mkdir -p ${stage}${q(folder)}`);
  for (const put of puts) {
    if ('text' in put) lines.push(...heredoc(`${stage}${q(put.to)}`, put.text));
    else if ('work' in put) lines.push(`cp "$WORK/${put.work}" ${stage}${q(put.to)}`);
    else if ('globDir' in put) lines.push(`cp ${globs(put)} ${stage}${q(`${put.to}/`)}`);
    else if (put.folder) lines.push(`cp -R ${q(`${put.from}/`)}. ${stage}${q(put.to)}`);
    else lines.push(`cp ${q(put.from)} ${stage}${q(put.to)}`);
  }
  // The same features as Loopback Studio's own formatter (plain ext2: filetype, sparse_super).
  const args = ['mke2fs', '-q', '-F', '-t', 'ext2', '-O', '^resize_inode,^dir_index,^ext_attr,^large_file', '-I', '128'];
  if (volume.fs.blockSize) args.push('-b', String(volume.fs.blockSize));
  if (volume.fs.label) args.push('-L', volume.fs.label);
  if (volume.partition !== null) args.push('-E', `offset=${volume.startSector * SECTOR_BYTES}`);
  lines.push(`${shellLine(args)} -d ${stage} "$IMG" ${Math.floor(volume.sizeBytes / 1024)}k`);
  return lines;
}

/** dd commands copying the byte ranges [start, end) of FILE to the image at `base` + start. */
function ddRanges(file: string, base: number, ranges: Array<[number, number]>): string[] {
  return ranges
    .filter(([start, end]) => end > start)
    .map(
      ([start, end]) => `dd if=${q(file)} of="$IMG" bs=1 skip=${start} seek=${base + start} count=${end - start} conv=notrunc status=none`,
    );
}

function bootloaderCommands(plan: RecipePlan): string[] {
  const b = plan.bootloader;
  if (!b) return [];
  const lines = ['', '# The boot loader'];
  if (b.kind === 'grub2') {
    if (!b.bios) return [];
    const { prepared, area } = b.bios;
    lines.push(
      `# GRUB 2: core.img knows where /boot/grub is (${prepared.prefix}); boot.img loads it from sector ${area.firstSector}.`,
      ['grub-mkimage', ...grubMkimageArgs(prepared.files, prepared.prefix, prepared.modules, CORE_OUTPUT)]
        .map((arg) => (arg === CORE_OUTPUT ? '"$WORK/core.img"' : q(arg)))
        .join(' '),
    );
    if (area.firstSector !== 1) {
      lines.push(
        `# core.img goes into ${area.description}: its block list (at byte ${CORE_IMG.FIRST_LIST_ENTRY}) must point at sector ${area.firstSector + 1}`,
        `poke_le64 "$WORK/core.img" ${CORE_IMG.FIRST_LIST_ENTRY} ${area.firstSector + 1}`,
      );
    }
    lines.push(
      `dd if=${q(`${prepared.files.dir}/boot.img`)} of="$IMG" bs=${MBR_CODE_BYTES} count=1 conv=notrunc status=none   # the MBR's code; its disk signature and table stay`,
      `dd if="$WORK/core.img" of="$IMG" bs=512 seek=${area.firstSector} conv=notrunc status=none`,
      `printf '\\x90\\x90' | dd of="$IMG" bs=1 seek=${BOOT_IMG.DRIVE_CHECK} conv=notrunc status=none   # hard disk: check the BIOS's drive number (grub-bios-setup does this)`,
    );
    if (area.firstSector !== 1)
      lines.push(`poke_le64 "$IMG" ${BOOT_IMG.KERNEL_SECTOR} ${area.firstSector}   # where boot.img finds core.img`);
    return lines;
  }
  if (b.kind === 'grub-legacy') {
    const hardDisk = plan.table !== null || plan.shape.floppy === null;
    const device = grubLegacyDevice(hardDisk, b.volume.partition);
    const partition = b.volume.partition !== null ? ` -p ${b.volume.partition}` : '';
    lines.push(
      '# GRUB legacy: the article now runs its shell on the image,',
      `#   grub --device-map=device.map   with   root ${device}   and   setup ${hardDisk ? '(hd0)' : device}`,
      "# which writes stage1 into sector 0 (keeping a floppy's BPB, a disk's partition table) with the sector of",
      "# stage2, and stage2's block list into stage2 itself. That shell is a 32-bit program many",
      '# systems cannot run any more; loopstudio does the same `setup` natively:',
      `"$LOOPSTUDIO" bootloader "$IMG"${partition} --grub-legacy --stage-dir ${q(b.prepared.files.dir)}`,
    );
    return lines;
  }
  // The user's boot sector, keeping what the disk keeps in sector 0.
  const volume =
    b.partition !== null ? plan.volumes.find((v) => v.partition === b.partition) : plan.volumes.find((v) => v.partition === null);
  const base = (b.partition !== null ? plan.disk!.partitions.find((p) => p.index === b.partition)!.startSector : 0) * SECTOR_BYTES;
  const kept: Array<[number, number]> = [];
  if (volume && volume.fs.type !== 'ext2' && !b.overwriteBpb)
    kept.push([BPB_START, volume.fs.type === 'fat32' ? FAT32_BPB_END : FAT1216_BPB_END]);
  if (b.partition === null && plan.table !== null && !b.overwriteTable) kept.push([MBR_TABLE_START, MBR_TABLE_END]);
  const ranges: Array<[number, number]> = [];
  let at = 0;
  for (const [start, end] of kept) {
    ranges.push([at, start]);
    at = end;
  }
  ranges.push([at, SECTOR_BYTES]);
  lines.push(
    `# The boot sector${kept.length ? `, around the bytes the disk keeps (${kept.map(([s, e]) => `${s}–${e - 1}`).join(', ')})` : ''}`,
  );
  lines.push(...ddRanges(b.file, base, ranges));
  lines.push(
    `dd if=${q(b.file)} of="$IMG" bs=512 skip=1 seek=${base / SECTOR_BYTES + 1} conv=notrunc status=none   # the rest of a longer first stage, if any`,
  );
  return lines;
}

/** The whole script for a planned recipe; `output` is the default image path ($1 overrides it). */
export function recipeScript(plan: RecipePlan, output?: string): string {
  if (plan.iso) return isoScript(plan, plan.iso, output ?? defaultOutputFor(plan.recipe, plan.recipePath));
  output ??= defaultOutput(plan.recipePath);
  const lines = [
    '#!/usr/bin/env bash',
    `# What \`loopstudio build ${plan.recipePath}\` does, with the classic tools.`,
    '# Written by Loopback Studio. Needs no root. Usage: bash THIS-SCRIPT [IMAGE]',
    'set -euo pipefail',
    `IMG=\${1:-${q(output)}}`,
    `LOOPSTUDIO=\${LOOPSTUDIO:-loopstudio}`,
    'WORK=$(mktemp -d)',
    'trap \'rm -rf "$WORK"\' EXIT',
    'export MTOOLS_SKIP_CHECK=1',
  ];
  if (plan.bootloader?.kind === 'grub2' && plan.bootloader.bios && plan.bootloader.bios.area.firstSector !== 1) {
    lines.push(
      '# poke_le64 FILE OFFSET VALUE: write VALUE as 8 little-endian bytes at OFFSET',
      'poke_le64() { local bytes=\'\' i; for i in 0 1 2 3 4 5 6 7; do bytes+=$(printf \'\\\\x%02x\' $(( ($3 >> (8 * i)) & 255 ))); done; printf "$bytes" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }',
    );
  }
  const g = plan.shape.geometry;
  lines.push(
    '',
    `# The image: ${plan.shape.totalSectors} sectors of 512 bytes${plan.shape.floppy ? ` (a ${plan.shape.floppy} floppy)` : ` (${g.cylinders}/${g.heads}/${g.sectorsPerTrack} C/H/S)`}, sparse`,
    'rm -f "$IMG"',
    `truncate -s ${plan.shape.sizeBytes} "$IMG"`,
  );
  if (plan.bootloader?.kind === 'grub2' && plan.bootloader.efi) {
    const efi = plan.bootloader.efi;
    lines.push(
      '',
      `# GRUB 2 for UEFI: one file, ${EFI_BOOT_FILE} on the FAT volume, with its modules built in; it finds`,
      `# ${efi.prefix}/grub.cfg on the partition it was started from`,
      ['grub-mkimage', ...grubMkimageArgs(efi.files, efi.prefix, efi.modules, CORE_OUTPUT, 'x86_64-efi')]
        .map((arg) => (arg === CORE_OUTPUT ? `"$WORK/${EFI_WORK_FILE}"` : q(arg)))
        .join(' '),
    );
  }
  if (plan.table)
    lines.push('', '# The partition table', 'sfdisk --quiet "$IMG" <<\'LOOPSTUDIO_EOF\'', ...recipeSfdiskScript(plan), 'LOOPSTUDIO_EOF');
  for (const volume of plan.volumes) {
    lines.push(
      '',
      `# ${volume.partition === null ? 'The filesystem (whole disk)' : `Partition ${volume.partition}`}: ${volume.fs.type}${volume.partition === null ? '' : `, from sector ${volume.startSector} (byte ${volume.startSector * SECTOR_BYTES})`}, and its files`,
    );
    lines.push(...(volume.fs.type === 'ext2' ? ext2VolumeCommands(plan, volume) : fatVolumeCommands(plan, volume)));
  }
  lines.push(...bootloaderCommands(plan), '', 'echo "built $IMG"');
  return `${lines.join('\n')}\n`;
}
