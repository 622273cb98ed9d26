import { GRUB2_FIRMWARES, type Grub2Firmware } from '../../../shared/boot/grub2';
import { KERNEL_TYPES, type BootMenu, type KernelType } from '../../../shared/boot/menu';
import { LoopbackError } from '../../../shared/errors';
import type { BootloaderRequest, BootloaderResult } from '../../services/bootloaders';
import { output, type Command, type CommandContext } from '../command';
import { progressFor } from '../progress';
import { partitionOption, volumeRef } from '../volume-options';

const usage =
  'loopstudio bootloader IMAGE [-p N] [--engine rootless|loop] (--grub2 [--firmware bios|uefi|both] [--core-modules "M …"] | --grub-legacy [--stage-dir DIR] | --boot-sector FILE [--overwrite-bpb] [--overwrite-table] [--force])\n' +
  '       [--kernel /boot/kernel.elf [--kernel-type multiboot|multiboot2|linux] [--kernel-file HOSTPATH] [--cmdline "…"] [--module "/boot/mod args"]… [--initrd /boot/initrd.gz]… [--title T]]\n' +
  '       [--timeout SECONDS] [--serial] [--json]\n\n' +
  'With --kernel, a one-entry menu is written (GRUB 2: /boot/grub/grub.cfg; GRUB legacy: /boot/grub/menu.lst),\n' +
  'with either engine; without it an existing menu is left as it is.\n' +
  '  --module PATH[ ARGS]  a multiboot module (GRUB 2 `module`/`module2`, GRUB legacy `module`), with its own\n' +
  '                        command line; for a Linux entry (--kernel-type linux) it becomes the `initrd` line.\n' +
  "  --initrd PATH         a Linux entry's initrd image (the `initrd` line; repeat it for several: GRUB 2 loads\n" +
  '                        them one after the other). The same as --module for Linux; not for multiboot kernels.\n' +
  "Paths are inside the image's /boot volume; copy the files in first (loopstudio put IMAGE FILE PATH --parents),\n" +
  'or let --kernel-file copy the kernel.\n' +
  "--engine loop (GRUB 2, BIOS): the host's grub-install through a loop device, as root; the menu is written\n" +
  'afterwards exactly as the rootless engine writes it.';

function invalid(message: string): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message);
}

function wholeNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw invalid(`--${option} takes a whole number of seconds, not "${text}"`);
  return Number(text);
}

/** The menu of one entry the options describe, or undefined without --kernel. */
function menuFromOptions(ctx: CommandContext): BootMenu | undefined {
  const v = ctx.values;
  const kernel = v.kernel as string | undefined;
  const menuOnly = ['kernel-type', 'kernel-file', 'cmdline', 'module', 'initrd', 'title', 'timeout', 'serial'].filter(
    (name) => v[name] !== undefined,
  );
  if (kernel === undefined) {
    if (menuOnly.length)
      throw invalid(
        `${menuOnly.map((n) => `--${n}`).join(', ')} describe the menu entry: give --kernel PATH too (the kernel's path inside the image)`,
      );
    return undefined;
  }
  const type = (v['kernel-type'] as string | undefined) ?? 'multiboot';
  if (!(KERNEL_TYPES as readonly string[]).includes(type)) throw invalid(`--kernel-type is ${KERNEL_TYPES.join(', ')}, not "${type}"`);
  const modules = ((v.module as string[] | undefined) ?? []).map((text) => {
    const [path = '', ...args] = text.trim().split(/\s+/);
    return { path, ...(args.length ? { cmdline: args.join(' ') } : {}) };
  });
  // --initrd: a Linux entry's initrd images, which the menu keeps as the entry's modules.
  const initrds = (v.initrd as string[] | undefined) ?? [];
  if (initrds.length && type !== 'linux') {
    throw invalid(`--initrd is for Linux entries (--kernel-type linux); a ${type} kernel takes its files as --module "PATH ARGS"`);
  }
  for (const path of initrds) {
    if (/\s/.test(path.trim())) throw invalid(`--initrd takes one path inside the image, not "${path}" (an initrd has no command line)`);
    modules.push({ path: path.trim() });
  }
  const cmdline = v.cmdline as string | undefined;
  return {
    timeout: wholeNumber(v.timeout as string | undefined, 'timeout') ?? 5,
    default: 0,
    serial: Boolean(v.serial),
    entries: [
      {
        title: (v.title as string | undefined) ?? kernel.split('/').pop() ?? kernel,
        kernel,
        type: type as KernelType,
        ...(cmdline !== undefined ? { cmdline } : {}),
        ...(modules.length ? { modules } : {}),
      },
    ],
  };
}

function request(ctx: CommandContext): BootloaderRequest {
  const v = ctx.values;
  const [image, ...extra] = ctx.positionals;
  if (extra.length) throw invalid(`bootloader takes one image (usage: ${usage})`);
  const ref = volumeRef(ctx, image, usage);
  const chosen = (['grub2', 'grub-legacy', 'boot-sector'] as const).filter((name) => v[name] !== undefined);
  if (chosen.length !== 1)
    throw invalid(
      `say which boot loader: exactly one of --grub2, --grub-legacy, --boot-sector FILE${chosen.length ? ` (got ${chosen.map((c) => `--${c}`).join(' and ')})` : ''}`,
    );
  const misplaced = (names: string[], loader: string) => {
    const given = names.filter((n) => v[n] !== undefined);
    if (given.length) throw invalid(`${given.map((n) => `--${n}`).join(', ')} ${given.length === 1 ? 'goes' : 'go'} with ${loader} only`);
  };
  const kernelFile = v['kernel-file'] as string | undefined;
  if (chosen[0] === 'boot-sector') {
    misplaced(
      ['kernel', 'kernel-type', 'kernel-file', 'cmdline', 'module', 'initrd', 'title', 'timeout', 'serial'],
      '--grub2 or --grub-legacy (a boot sector has no menu)',
    );
    misplaced(['stage-dir'], '--grub-legacy');
    misplaced(['core-modules', 'firmware'], '--grub2');
    return {
      loader: 'boot-sector',
      ...ref,
      file: v['boot-sector'] as string,
      overwriteBpb: Boolean(v['overwrite-bpb']),
      overwriteTable: Boolean(v['overwrite-table']),
      force: Boolean(v.force),
    };
  }
  misplaced(['overwrite-bpb', 'overwrite-table', 'force'], '--boot-sector');
  const menu = menuFromOptions(ctx);
  const common = { ...ref, ...(menu ? { menu } : {}), ...(kernelFile !== undefined ? { kernelFile } : {}) };
  if (chosen[0] === 'grub2') {
    misplaced(['stage-dir'], '--grub-legacy');
    const coreModules = ((v['core-modules'] as string | undefined) ?? '').split(/[\s,]+/).filter(Boolean);
    const firmware = v.firmware as string | undefined;
    if (firmware !== undefined && !(GRUB2_FIRMWARES as readonly string[]).includes(firmware))
      throw invalid(`--firmware is ${GRUB2_FIRMWARES.join(', ')}, not "${firmware}"`);
    return {
      loader: 'grub2',
      ...common,
      ...(coreModules.length ? { coreModules } : {}),
      ...(firmware !== undefined ? { firmware: firmware as Grub2Firmware } : {}),
    };
  }
  misplaced(['core-modules', 'firmware'], '--grub2');
  return { loader: 'grub-legacy', ...common, ...(v['stage-dir'] !== undefined ? { stageDir: v['stage-dir'] as string } : {}) };
}

function describe(result: BootloaderResult): string {
  const name = { grub2: 'GRUB 2', 'grub-legacy': 'GRUB legacy', 'boot-sector': 'the boot sector' }[result.loader];
  const lines = [`Installed ${name} on ${result.volume}${result.device ? `, which it calls ${result.device}` : ''}`];
  for (const s of result.sectors) lines.push(`  sector ${s.sector}${s.count > 1 ? `–${s.sector + s.count - 1}` : ''}: ${s.what}`);
  if (result.core)
    lines.push(`  core.img: ${result.core.bytes} bytes, prefix ${result.core.prefix}, modules ${result.core.modules.join(' ')}`);
  if (result.efi)
    lines.push(
      `  ${result.efi.path} (UEFI): ${result.efi.bytes} bytes, prefix ${result.efi.prefix} on its own partition, modules ${result.efi.modules.join(' ')}`,
    );
  if (result.blockList) {
    lines.push(
      `  stage2 block list: ${result.blockList.map((e) => `${e.sectorCount} sectors at ${e.startSector} → ${e.segment.toString(16)}:0`).join(', ')}`,
    );
  }
  if (result.modules) lines.push(`  copied ${result.modules} GRUB modules to /boot/grub/i386-pc`);
  for (const file of result.files) lines.push(`  wrote ${file}`);
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

/**
 * `--engine loop --grub2`: the host's grub-install on a loop device, as root — for people who want
 * GRUB installed exactly as their distribution does it — then the same menu the rootless engine
 * writes (grub.cfg, and the kernel with --kernel-file), checked before the password prompt. Needs
 * GRUB 2's grub-install (grub2-common), which the helper finds and names the package for when it
 * is missing.
 */
async function runGrubInstall(ctx: CommandContext): Promise<number> {
  const v = ctx.values;
  const [image, ...extra] = ctx.positionals;
  if (extra.length) throw invalid(`bootloader takes one image (usage: ${usage})`);
  if (!v.grub2)
    throw invalid(
      '--engine loop installs GRUB 2 with the host’s grub-install: add --grub2 (GRUB legacy and boot sectors are rootless only)',
    );
  const rootlessOnly = ['core-modules', 'stage-dir', 'boot-sector', 'overwrite-bpb', 'overwrite-table', 'force'].filter(
    (name) => v[name] !== undefined,
  );
  if (rootlessOnly.length)
    throw invalid(
      `${rootlessOnly.map((n) => `--${n}`).join(', ')} ${rootlessOnly.length === 1 ? 'is' : 'are'} for the rootless engine (grub-install chooses core.img's modules itself)`,
    );
  if (v.firmware !== undefined && v.firmware !== 'bios')
    throw invalid(
      `--engine loop runs grub-install --target=i386-pc (BIOS) only, not --firmware ${String(v.firmware)}: use the rootless engine for UEFI`,
    );
  const ref = volumeRef(ctx, image, usage);
  const menu = menuFromOptions(ctx);
  const kernelFile = v['kernel-file'] as string | undefined;
  const { loopGrubInstall } = await import('../../services/loops');
  const result = await loopGrubInstall(ref.image, ref.partition, {
    loops: (await ctx.services()).loops,
    ...(menu ? { menu } : {}),
    ...(kernelFile !== undefined ? { kernelFile } : {}),
  });
  output(ctx, result, () => {
    const lines = [
      `Installed GRUB 2 on ${result.volume} with the host's grub-install through a loop device.`,
      'Ran as root:',
      ...result.commands.map((c) => `  ${c}`),
    ];
    for (const file of result.files) lines.push(`  wrote ${file}`);
    if (result.menu)
      lines.push(
        `  menu: ${result.menu.entries.map((e) => `"${e.title}" (${e.type} ${e.kernel})`).join(', ')}, timeout ${result.menu.timeout} s${result.menu.serial ? ', on COM1 too' : ''}`,
      );
    for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
    return `${lines.join('\n')}\n`;
  });
  return 0;
}

export const bootloader: Command = {
  name: 'bootloader',
  summary: 'Make an image bootable without root: GRUB 2, GRUB legacy (stage1/stage2 + menu.lst) or your own boot sector',
  usage,
  options: {
    ...partitionOption,
    grub2: { type: 'boolean' },
    'grub-legacy': { type: 'boolean' },
    'boot-sector': { type: 'string' },
    'stage-dir': { type: 'string' },
    'core-modules': { type: 'string' },
    firmware: { type: 'string' },
    'overwrite-bpb': { type: 'boolean' },
    'overwrite-table': { type: 'boolean' },
    force: { type: 'boolean' },
    kernel: { type: 'string' },
    'kernel-type': { type: 'string' },
    'kernel-file': { type: 'string' },
    cmdline: { type: 'string' },
    module: { type: 'string', multiple: true },
    initrd: { type: 'string', multiple: true },
    title: { type: 'string' },
    timeout: { type: 'string' },
    serial: { type: 'boolean' },
    engine: { type: 'string' },
  },
  async run(ctx) {
    const engine = (ctx.values.engine as string | undefined) ?? 'rootless';
    if (engine !== 'rootless' && engine !== 'loop') throw invalid(`--engine is rootless or loop, not "${engine}"`);
    if (engine === 'loop') return runGrubInstall(ctx);
    const req = request(ctx);
    const progress = progressFor(ctx, 'bootloader');
    try {
      const { installBootloader } = await import('../../services/bootloaders');
      const result = await installBootloader({ ...req, ...progress });
      output(ctx, result, () => describe(result));
    } finally {
      progress.done();
    }
    return 0;
  },
};
