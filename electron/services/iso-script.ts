/**
 * `loopstudio build ISO-RECIPE.json --print-commands`: the shell script that makes the same ISO
 * with the classic tools — the tree assembled with cp, GRUB's two boot images with grub-mkimage,
 * the EFI system partition with mkfs.fat and mtools, and the image with `xorriso -as mkisofs`
 * given the options grub-mkrescue gives it (-b eltorito.img -boot-info-table --grub2-boot-info,
 * --grub2-mbr boot_hybrid.img, -append_partition 2 0xef efi.img -e …). The grub-mkrescue one-liner
 * is shown too, as a comment: it makes a bootable image as well, but not this layout (it adds
 * every module of every platform, fonts and locales, and an HFS+ tree for Macs).
 *
 * Every host path and every value from the recipe is quoted for the shell (shared/util/shell-quote).
 */
import { EFI_BOOT_DIR, EFI_BOOT_FILE } from '../../shared/boot/grub2';
import { shellQuote } from '../../shared/util/shell-quote';
import { grubMkimageArgs } from '../platform/grub-files';
import {
  BOOT_HYBRID_IMG,
  grubEarlyConfig,
  ISO_BIOS_MODULE_DIR,
  ISO_CATALOG_PATH,
  ISO_ELTORITO_PATH,
  ISO_GRUB_CFG,
  ISO_GRUB_DIR,
  type IsoRecipePlan,
} from './iso-recipe';
import type { RecipePlan } from './recipes';

const q = shellQuote;
/** Placeholders for paths under $WORK / $TREE, which must stay unquoted for the shell. */
const WORK_PREFIX = '\0work/';
const TREE_PREFIX = '\0tree';

/** One word: a $WORK or $TREE path written "$WORK/…", anything else quoted. */
function word(arg: string): string {
  if (arg.startsWith(WORK_PREFIX)) return `"$WORK/${arg.slice(WORK_PREFIX.length)}"`;
  if (arg.startsWith(TREE_PREFIX)) {
    const rest = arg.slice(TREE_PREFIX.length);
    return rest ? `"$TREE"${q(rest)}` : '"$TREE"';
  }
  return q(arg);
}

const line = (args: readonly string[]) => args.map(word).join(' ');
const inTree = (path: string) => `${TREE_PREFIX}${path === '/' ? '' : path}`;
const inWork = (name: string) => `${WORK_PREFIX}${name}`;

function heredoc(target: string, text: string): string[] {
  return [`cat > ${word(target)} <<'LOOPSTUDIO_EOF'`, ...text.replace(/\n$/, '').split('\n'), 'LOOPSTUDIO_EOF'];
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/** "2024-01-02T03:04:05.000Z" → xorriso's "2024010203040500" (hundredths). */
function xorrisoDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}${two(Math.floor(d.getUTCMilliseconds() / 10))}`;
}

/** The tree: every recipe file, folder and boot image copied under $TREE. */
function treeCommands(iso: IsoRecipePlan): string[] {
  const lines = ['', '# The tree: what goes into the image, under one folder', `mkdir -p ${word(inTree('/'))}`];
  const made = new Set<string>(['/']);
  const mkdir = (path: string) => {
    if (made.has(path)) return;
    made.add(path);
    lines.push(`mkdir -p ${word(inTree(path))}`);
  };
  for (const copy of iso.copies) {
    if (copy.folder) {
      mkdir(copy.to);
      // cp -R keeps links as links, as the image does.
      lines.push(`cp -R ${q(`${copy.from}/`)}. ${word(inTree(copy.to))}`);
    } else {
      mkdir(parentOf(copy.to));
      lines.push(`cp ${q(copy.from)} ${word(inTree(copy.to))}`);
    }
  }
  const boot = iso.boot;
  if (boot?.kind === 'boot-image' && boot.file !== null) {
    mkdir(parentOf(boot.path));
    lines.push(`cp ${q(boot.file)} ${word(inTree(boot.path))}   # your El Torito boot image`);
  }
  if (boot?.kind === 'grub2' && boot.grubCfg !== null) {
    mkdir(ISO_GRUB_DIR);
    lines.push(...heredoc(inTree(ISO_GRUB_CFG), boot.grubCfg));
  }
  return lines;
}

/** GRUB's two images, as grub-mkrescue builds them: both find the image by its UUID and read one grub.cfg. */
function grubCommands(iso: IsoRecipePlan): string[] {
  const boot = iso.boot;
  if (boot?.kind !== 'grub2') return [];
  const lines = [
    '',
    `# GRUB 2: both boot images find this image by its ISO 9660 UUID (the volume's date, ${boot.uuid}) and read ${ISO_GRUB_CFG}`,
    ...heredoc(inWork('early.cfg'), grubEarlyConfig(boot.uuid)),
  ];
  if (boot.bios) {
    const { files, modules } = boot.bios;
    lines.push(
      '',
      '# GRUB 2 for BIOS: every module (insmod finds any), and the El Torito image (cdboot.img + core.img)',
      `mkdir -p ${word(inTree(ISO_BIOS_MODULE_DIR))}`,
      `cp ${q(files.dir)}/*.mod ${q(files.dir)}/*.lst ${word(inTree(`${ISO_BIOS_MODULE_DIR}/`))}`,
      line([
        'grub-mkimage',
        ...grubMkimageArgs(files, ISO_GRUB_DIR, modules, inTree(ISO_ELTORITO_PATH), 'i386-pc-eltorito', inWork('early.cfg')),
      ]),
    );
  }
  if (boot.efi) {
    const { files, modules, esp } = boot.efi;
    const volumeId = (Math.floor(iso.dateMs / 1000) >>> 0).toString(16).padStart(8, '0');
    lines.push(
      '',
      `# GRUB 2 for UEFI: ${EFI_BOOT_FILE} with its modules built in, in a FAT image (the EFI system partition) appended to the image`,
      line(['grub-mkimage', ...grubMkimageArgs(files, ISO_GRUB_DIR, modules, inWork('BOOTX64.EFI'), 'x86_64-efi', inWork('early.cfg'))]),
      `truncate -s ${esp.length} "$WORK/efi.img"`,
      `mkfs.fat -i ${volumeId} "$WORK/efi.img" >/dev/null`,
      `mmd -i "$WORK/efi.img" ::/EFI ::${EFI_BOOT_DIR}`,
      `mcopy -i "$WORK/efi.img" "$WORK/BOOTX64.EFI" ::${EFI_BOOT_FILE}`,
    );
  }
  return lines;
}

/** The xorriso command line: grub-mkrescue's options for our layout. */
function xorrisoArgs(iso: IsoRecipePlan): string[] {
  const args = ['xorriso', '-as', 'mkisofs', '-o', '\0img', '-r', '-J', '-V', iso.volumeId];
  if (iso.level === 2) args.push('-iso-level', '2');
  if (iso.dateFixed) args.push(`--modification-date=${xorrisoDate(iso.dateMs)}`, '--set_all_file_dates', xorrisoDate(iso.dateMs));
  const boot = iso.boot;
  const catalog = iso.plan.boot
    ? [
        '-c',
        ISO_CATALOG_PATH.slice(1),
        ...(iso.entries.some((e) => e.path === ISO_CATALOG_PATH && e.type !== 'directory') ? ['--boot-catalog-hide'] : []),
      ]
    : [];
  if (boot?.kind === 'boot-image') {
    args.push(
      '-b',
      boot.path.slice(1),
      '-no-emul-boot',
      '-boot-load-size',
      String(boot.loadSectors),
      ...(boot.bootInfoTable ? ['-boot-info-table'] : []),
      ...catalog,
    );
  } else if (boot?.kind === 'grub2') {
    if (boot.bios)
      args.push(
        '-b',
        ISO_ELTORITO_PATH.slice(1),
        '-no-emul-boot',
        '-boot-load-size',
        '4',
        '-boot-info-table',
        '--grub2-boot-info',
        ...catalog,
      );
    if (iso.hybrid && boot.bios) args.push('--grub2-mbr', `${boot.bios.files.dir}/${BOOT_HYBRID_IMG}`, '--protective-msdos-label');
    if (boot.efi) {
      args.push('-append_partition', '2', '0xef', inWork('efi.img'));
      args.push(...(boot.bios ? ['-eltorito-alt-boot'] : catalog), '-e', '--interval:appended_partition_2:all::', '-no-emul-boot');
    }
  }
  args.push(inTree('/'));
  return args;
}

/** The whole script for a planned ISO recipe; `output` is the default image path ($1 overrides it). */
export function isoScript(plan: RecipePlan, iso: IsoRecipePlan, output: string): string {
  const lines = [
    '#!/usr/bin/env bash',
    `# What \`loopstudio build ${plan.recipePath}\` does, with the classic tools (cp, grub-mkimage, mkfs.fat, mtools, xorriso).`,
    '# Written by Loopback Studio. Needs no root. Usage: bash THIS-SCRIPT [IMAGE]',
    'set -euo pipefail',
    `IMG=\${1:-${q(output)}}`,
    'WORK=$(mktemp -d)',
    'trap \'rm -rf "$WORK"\' EXIT',
    'TREE="$WORK/iso"',
    'export MTOOLS_SKIP_CHECK=1',
  ];
  lines.push(...treeCommands(iso), ...grubCommands(iso));
  const xorriso = xorrisoArgs(iso)
    .map((arg) => (arg === '\0img' ? '"$IMG"' : word(arg)))
    .join(' ');
  lines.push(
    '',
    `# The image: ${iso.plan.boot ? 'El Torito ' : ''}ISO 9660 with Rock Ridge and Joliet, names as \`mkisofs -r\` records them`,
    'rm -f "$IMG"',
    `${xorriso} 2>"$WORK/xorriso.log" || { cat "$WORK/xorriso.log" >&2; exit 1; }`,
  );
  if (iso.boot?.kind === 'grub2') {
    const platforms = [iso.boot.bios ? 'i386-pc' : null, iso.boot.efi ? 'x86_64-efi' : null].filter((p): p is string => p !== null);
    const only = platforms.length === 1 ? ` -d ${q(platforms[0] === 'i386-pc' ? iso.boot.bios!.files.dir : iso.boot.efi!.files.dir)}` : '';
    lines.push(
      '',
      '# The same in one line with grub-mkrescue (bootable too, but another layout: it adds every module of',
      "# every platform, GRUB's fonts and locales, and an HFS+ tree; it has no switch for the hybrid MBR):",
      `#   grub-mkrescue${only} -o "$IMG" "$TREE" -- -volid ${q(iso.volumeId)}`,
    );
  }
  lines.push('', 'echo "built $IMG"');
  return `${lines.join('\n')}\n`;
}
