/**
 * GRUB's files on this machine: GRUB 2's i386-pc folder (boot.img, the modules, moddep.lst) with
 * grub-mkimage, and GRUB legacy's stage files. Finds them, says which package provides them when
 * they are missing, and runs grub-mkimage (argument array, no shell).
 *
 * LOOPSTUDIO_GRUB2_DIR and LOOPSTUDIO_GRUB_LEGACY_DIR replace the search with one folder (for
 * hosts that keep GRUB elsewhere, and for tests that need "GRUB is not installed").
 */
import { constants, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackError } from '../../shared/errors';
import { distroFamily, HOST_TOOLS, installHint, type DistroFamily } from '../../shared/host/tools';
import { findExecutable, readOsRelease, searchPath } from './host-tools';
import { runCommandOk } from './run';

export const GRUB2_DIR_ENV = 'LOOPSTUDIO_GRUB2_DIR';
export const GRUB2_EFI_DIR_ENV = 'LOOPSTUDIO_GRUB2_EFI_DIR';
export const GRUB_LEGACY_DIR_ENV = 'LOOPSTUDIO_GRUB_LEGACY_DIR';

/** Where distributions put GRUB 2's BIOS modules (Fedora and openSUSE call it grub2). */
export const GRUB2_DIRS = [
  '/usr/lib/grub/i386-pc',
  '/usr/lib/grub2/i386-pc',
  '/usr/share/grub2/i386-pc',
  '/usr/local/lib/grub/i386-pc',
  '/opt/homebrew/lib/i686-elf/grub/i386-pc',
];
/** Where distributions put GRUB 2's x86_64 UEFI modules. */
export const GRUB2_EFI_DIRS = [
  '/usr/lib/grub/x86_64-efi',
  '/usr/lib/grub2/x86_64-efi',
  '/usr/share/grub2/x86_64-efi',
  '/usr/local/lib/grub/x86_64-efi',
];
/** The package with the x86_64-efi modules, per package family. */
const GRUB2_EFI_INSTALL: Partial<Record<DistroFamily, string>> = {
  debian: 'sudo apt install --no-install-recommends grub-efi-amd64-bin',
  fedora: 'sudo dnf install grub2-efi-x64-modules',
  arch: 'sudo pacman -S grub',
  suse: 'sudo zypper install grub2-x86_64-efi',
};

/** Debian's grub-legacy puts the stages in x86_64-pc (i386-pc is GRUB 2's there); older systems in i386-pc. */
export const GRUB_LEGACY_DIRS = [
  '/usr/lib/grub/x86_64-pc',
  '/usr/lib/grub/i386-pc',
  '/lib/grub/i386-pc',
  '/usr/share/grub/i386-pc',
  '/boot/grub',
];

/** What a stage folder must hold. */
export const LEGACY_STAGE_FILES = ['stage1', 'stage2'] as const;

/** Where to get GRUB legacy, per package family: most distributions dropped it. */
const GRUB_LEGACY_INSTALL: Partial<Record<DistroFamily, string>> = {
  debian: 'sudo apt install grub-legacy',
};
const GRUB_LEGACY_GENERIC =
  "GRUB legacy (0.97) is no longer packaged here: take stage1 and stage2 from a distribution that has it (Debian's grub-legacy package) and pass their folder with --stage-dir";

export async function hostFamily(): Promise<DistroFamily> {
  const release = process.platform === 'linux' ? await readOsRelease() : {};
  return distroFamily(process.platform, release.ID, release.ID_LIKE);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The first of `dirs` that holds every one of `files`. */
async function firstDirWith(dirs: readonly string[], files: readonly string[]): Promise<string | null> {
  for (const dir of dirs) {
    let all = true;
    for (const file of files) all = all && (await isFile(join(dir, file)));
    if (all) return dir;
  }
  return null;
}

export interface Grub2Files {
  /** The i386-pc folder. */
  dir: string;
  bootImg: string;
  moddep: string;
  grubMkimage: string;
}

function grub2Hint(family: DistroFamily): string {
  const spec = HOST_TOOLS.find((tool) => tool.name === 'grub-mkimage');
  return spec ? installHint(spec, family) : 'install GRUB 2 for BIOS (grub-mkimage and the i386-pc modules)';
}

/** GRUB 2's i386-pc files and grub-mkimage, or HOST_TOOL_MISSING with the install command. */
export async function findGrub2(env: NodeJS.ProcessEnv = process.env): Promise<Grub2Files> {
  const family = await hostFamily();
  const override = env[GRUB2_DIR_ENV];
  const candidates = override ? [override] : GRUB2_DIRS;
  const dir = await firstDirWith(candidates, ['boot.img', 'moddep.lst']);
  if (!dir) {
    const hint = grub2Hint(family);
    throw new LoopbackError(
      'HOST_TOOL_MISSING',
      `GRUB 2's BIOS files (boot.img, moddep.lst and the modules) are not in ${candidates.join(', ')}. Install them: ${hint}`,
      { tool: 'grub-pc-bin', installHint: hint, looked: candidates },
    );
  }
  const { grubMkimage } = await findGrub2Mkimage(env);
  return { dir, bootImg: join(dir, 'boot.img'), moddep: join(dir, 'moddep.lst'), grubMkimage };
}

async function findGrub2Mkimage(env: NodeJS.ProcessEnv): Promise<{ grubMkimage: string }> {
  for (const name of ['grub-mkimage', 'grub2-mkimage']) {
    const grubMkimage = await findExecutable(name, searchPath(env));
    if (grubMkimage) return { grubMkimage };
  }
  const hint = grub2Hint(await hostFamily());
  throw new LoopbackError('HOST_TOOL_MISSING', `grub-mkimage is not installed. Install it: ${hint}`, {
    tool: 'grub-mkimage',
    installHint: hint,
  });
}

export interface Grub2EfiFiles {
  /** The x86_64-efi folder. */
  dir: string;
  grubMkimage: string;
}

/** GRUB 2's x86_64-efi modules and grub-mkimage, or HOST_TOOL_MISSING with the install command. */
export async function findGrub2Efi(env: NodeJS.ProcessEnv = process.env): Promise<Grub2EfiFiles> {
  const override = env[GRUB2_EFI_DIR_ENV];
  const candidates = override ? [override] : GRUB2_EFI_DIRS;
  const dir = await firstDirWith(candidates, ['moddep.lst', 'normal.mod']);
  if (!dir) {
    const family = await hostFamily();
    const hint = GRUB2_EFI_INSTALL[family] ?? 'install GRUB 2 for x86_64 UEFI (the x86_64-efi modules) with your system’s package manager';
    throw new LoopbackError(
      'HOST_TOOL_MISSING',
      `GRUB 2's UEFI files (x86_64-efi: moddep.lst and the modules) are not in ${candidates.join(', ')}. Install them: ${hint}`,
      {
        tool: 'grub-efi-amd64-bin',
        installHint: hint,
        looked: candidates,
      },
    );
  }
  const { grubMkimage } = await findGrub2Mkimage(env);
  return { dir, grubMkimage };
}

/** The files grub-install copies to /boot/grub/i386-pc: every module and the .lst indexes. */
export async function grub2ModuleFiles(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir);
  return names.filter((name) => name.endsWith('.mod') || name.endsWith('.lst')).sort();
}

export interface GrubLegacyFiles {
  dir: string;
  stage1: string;
  stage2: string;
}

/**
 * GRUB legacy's stage1 and stage2: from `stageDir` when given (only there), else the usual
 * folders. HOST_TOOL_MISSING names the folders looked in and how to get the files.
 */
export async function findGrubLegacy(stageDir?: string, env: NodeJS.ProcessEnv = process.env): Promise<GrubLegacyFiles> {
  const override = stageDir ?? env[GRUB_LEGACY_DIR_ENV];
  const candidates = override ? [override] : GRUB_LEGACY_DIRS;
  const dir = await firstDirWith(candidates, LEGACY_STAGE_FILES);
  if (dir) return { dir, stage1: join(dir, 'stage1'), stage2: join(dir, 'stage2') };
  const family = await hostFamily();
  const hint = GRUB_LEGACY_INSTALL[family] ?? GRUB_LEGACY_GENERIC;
  throw new LoopbackError(
    'HOST_TOOL_MISSING',
    `GRUB legacy's stage1 and stage2 are not in ${candidates.join(', ')}. ${GRUB_LEGACY_INSTALL[family] ? `Install them: ${hint}` : hint}`,
    { tool: 'grub-legacy', installHint: hint, looked: candidates },
  );
}

/** grub-mkimage's output formats we build: a BIOS core.img, a CD's El Torito core image (cdboot.img + core.img), or a UEFI application. */
export type GrubImageFormat = 'i386-pc' | 'i386-pc-eltorito' | 'x86_64-efi';

/**
 * The grub-mkimage command line for an i386-pc core image (or, with `format`, a UEFI BOOTX64.EFI);
 * `config`: a file of commands built in and run first (`-c`), as grub-mkrescue's `search … --set=root`.
 */
export function grubMkimageArgs(
  files: { dir: string },
  prefix: string,
  modules: readonly string[],
  output: string,
  format: GrubImageFormat = 'i386-pc',
  config?: string,
): string[] {
  return ['-d', files.dir, '-O', format, '-p', prefix, ...(config !== undefined ? ['-c', config] : []), '-o', output, ...modules];
}

/** Builds core.img (or BOOTX64.EFI) with grub-mkimage into a temporary file and returns its bytes; `config`: the text of a built-in early config. */
export async function buildCoreImage(
  files: { dir: string; grubMkimage: string },
  prefix: string,
  modules: readonly string[],
  format: GrubImageFormat = 'i386-pc',
  config?: string,
): Promise<Uint8Array> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'loopstudio-core-'));
  try {
    const output = join(dir, 'core.img');
    let configFile: string | undefined;
    if (config !== undefined) {
      configFile = join(dir, 'early.cfg');
      await fs.writeFile(configFile, config);
    }
    await runCommandOk({ program: files.grubMkimage, args: grubMkimageArgs(files, prefix, modules, output, format, configFile) });
    await fs.access(output, constants.R_OK);
    return new Uint8Array(await fs.readFile(output));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
