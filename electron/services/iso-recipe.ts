/**
 * ISO recipes (issue 16): `"image": {"iso": {…}}` builds a bootable ISO 9660 image — the
 * grub-mkrescue path — with the pure-TypeScript writer of shared/fs/iso9660, without xorriso or
 * mtools, on any OS.
 *
 * Planning first, writing after (docs/SECURITY.md, rule 8): planIsoRecipe reads the host (every
 * source's type and size, GRUB's files), builds GRUB's two boot images with grub-mkimage, makes
 * the EFI system partition image in memory with our FAT writer, and hands the whole tree to
 * planIso, which decides every block. Each refusal names its recipe field:
 *   files[0].from: …/big.img is 5.00 GiB …: an ISO 9660 file holds at most 4 GiB − 1 byte
 *   files[1].from: /src/libc_sources_1.c and /src/libc_sources_2.c both map to "LIBC_SOU.C;1" …
 *   bootloader.grub2: GRUB 2's BIOS files … are not in /usr/lib/grub/i386-pc. Install them: …
 * Only then buildIsoRecipe writes — into a temporary file beside the output, renamed at the end —
 * streaming every file from the host in 1 MiB pieces (no file is held whole).
 *
 * What goes into the image, as grub-mkrescue lays it out:
 *   /boot/grub/i386-pc/eltorito.img  GRUB's El Torito BIOS image (grub-mkimage -O i386-pc-eltorito),
 *                                    patched with the boot info table and --grub2-boot-info
 *   /boot/grub/i386-pc/*.mod, *.lst  every BIOS module, so `insmod` finds any (as grub-install copies them)
 *   /boot/grub/grub.cfg              from the recipe's menu, or the user's own (the Bare Bones tutorial's)
 *   /boot.catalog                    the El Torito catalog
 *   (appended)                       a FAT image with /EFI/BOOT/BOOTX64.EFI, the UEFI entry, and with
 *                                    `hybrid` MBR partition 2 (type 0xEF)
 *   (sector 0, `hybrid`)             GRUB's boot_hybrid.img and an MBR: the image boots from a USB stick
 * Both GRUBs find the image by its ISO 9660 UUID (the volume's date, as `blkid` shows it) and read
 * the one /boot/grub/grub.cfg. The files keep their names and links (Rock Ridge; Joliet for
 * Windows); their modes are made readable by all, executable when any x bit is set, never
 * writable, owned by root — what `mkisofs -r` (grub-mkrescue's option) records.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { usesBios, usesUefi, efiModules, EFI_BOOT_DIR, EFI_BOOT_FILE, type Grub2Firmware } from '../../shared/boot/grub2';
import { checkMenu, grubCfg, type BootMenu } from '../../shared/boot/menu';
import type { IsoSummary } from '../../shared/api/boot';
import { MemoryBlockDevice } from '../../shared/disk/block-device';
import { formatBytes } from '../../shared/disk/sizes';
import { LoopbackError } from '../../shared/errors';
import { formatFat, openFat } from '../../shared/fs/fat/index';
import { encodeVolumeDate } from '../../shared/fs/iso9660/dates';
import { planIso, writeIso, type IsoEntry, type IsoFileSource, type IsoOptions, type IsoPlan } from '../../shared/fs/iso9660/index';
import { isoIdentifier, mapIsoName } from '../../shared/fs/iso9660/names';
import type { ProgressOptions } from '../../shared/fs/types';
import { fieldError, parseRecipeDate, toBootMenu, type Recipe } from '../../shared/recipe/schema';
import { buildCoreImage, findGrub2, findGrub2Efi, grub2ModuleFiles, type Grub2EfiFiles, type Grub2Files } from '../platform/grub-files';
import { FileBlockDevice } from './file-block-device';
import { imageJoin } from './files';
import { recipeSource } from './recipes';

/** Where GRUB's pieces go in the image (grub-mkrescue's places). */
export const ISO_GRUB_DIR = '/boot/grub';
export const ISO_GRUB_CFG = '/boot/grub/grub.cfg';
export const ISO_BIOS_MODULE_DIR = '/boot/grub/i386-pc';
export const ISO_ELTORITO_PATH = '/boot/grub/i386-pc/eltorito.img';
export const ISO_CATALOG_PATH = '/boot.catalog';
/** boot_hybrid.img: GRUB's MBR code for the hybrid image (in the i386-pc folder). */
export const BOOT_HYBRID_IMG = 'boot_hybrid.img';

/**
 * The modules built into the El Torito image, grub-mkrescue's: the BIOS disk and ISO 9660, so GRUB
 * reads /boot/grub of the medium it started from; everything else (search, normal, multiboot …)
 * loads from /boot/grub/i386-pc, where every module is copied. A small core is also a fast one:
 * grub-mkimage compresses it with LZMA, 0.01 s for these two, 0.07 s with normal and the loaders.
 */
export const ELTORITO_MODULES = ['biosdisk', 'iso9660'];
/** grub.cfg's insmods for an entry: the ISO's filesystem (built into both images already). */
export const ISO_GRUB_CFG_MODULES = ['iso9660'];

const MIB = 1024 * 1024;

/**
 * Zeros after the image, as mkisofs's -pad and xorriso's -padding 300k add them: a BIOS (and
 * Linux's block layer) reads a CD ahead in pieces of up to 32 KiB or more, and a read past the end
 * of the medium fails — GRUB then saw zeros for a kernel that was the image's last file ("no
 * multiboot header found"). Outside the ISO 9660 volume: its size and its partitions stay as planned.
 */
export const ISO_PADDING_BYTES = 300 * 1024;

/** GRUB's name for an ISO 9660 volume (grub-core/fs/iso9660.c, what `blkid` calls its UUID): the PVD's modification date, "2024-01-02-03-04-05-00". */
export function isoUuid(dateMs: number): string {
  const digits = new TextDecoder().decode(encodeVolumeDate(dateMs).subarray(0, 16));
  return [
    digits.slice(0, 4),
    digits.slice(4, 6),
    digits.slice(6, 8),
    digits.slice(8, 10),
    digits.slice(10, 12),
    digits.slice(12, 14),
    digits.slice(14, 16),
  ].join('-');
}

/** The config built into both GRUB images: find this very image, then read its /boot/grub (grub-mkrescue's). */
export function grubEarlyConfig(uuid: string): string {
  return `search --no-floppy --fs-uuid --set=root ${uuid}\nset prefix=($root)${ISO_GRUB_DIR}\n`;
}

/** A host entry's mode as `mkisofs -r` records it: readable by all, executable by all when any x bit is set, never writable. */
export function rationalMode(stats: { mode: number }, kind: 'file' | 'directory'): number {
  if (kind === 'directory') return 0o555;
  return 0o444 | (stats.mode & 0o111 ? 0o111 : 0);
}

/** Where an entry of the tree comes from, for messages and the --print-commands script. */
export interface IsoEntryOrigin {
  /** The recipe field to blame: `files[2].from`, `bootloader.grub2`, `bootloader.bootImage.file`. */
  field: string;
  /** The host path, when it is a host file or folder's entry. */
  host: string | null;
  /** True for what the boot loader adds (GRUB's files, grub.cfg from the menu): never refused for a renamed ISO 9660 name. */
  boot: boolean;
}

export interface IsoCopy {
  field: string;
  from: string;
  to: string;
  folder: boolean;
  bytes: number;
}

export type IsoBootPlan =
  | {
      kind: 'grub2';
      firmware: Grub2Firmware;
      menu: BootMenu | null;
      /** The grub.cfg the build writes from the menu, or null when files[] brings the user's own. */
      grubCfg: string | null;
      uuid: string;
      bios: { files: Grub2Files; eltorito: Uint8Array; modules: string[]; moduleFiles: string[]; bootHybrid: Uint8Array | null } | null;
      efi: { files: Grub2EfiFiles; image: Uint8Array; modules: string[]; esp: Uint8Array } | null;
      coreModules: string[];
    }
  | { kind: 'boot-image'; path: string; file: string | null; loadSectors: number; bootInfoTable: boolean };

export interface IsoRecipePlan {
  volumeId: string;
  dateMs: number;
  /** The date comes from the recipe (or SOURCE_DATE_EPOCH): every entry carries it, and the output is the same each time. */
  dateFixed: boolean;
  level: 1 | 2;
  nameCollisions: 'refuse' | 'rename';
  hybrid: boolean;
  copies: IsoCopy[];
  boot: IsoBootPlan | null;
  entries: IsoEntry[];
  origins: IsoEntryOrigin[];
  /** The writer's plan: sizes, blocks, boot entries, the MBR. */
  plan: IsoPlan;
  /** Host entries left out (devices, pipes, sockets). */
  skipped: Array<{ path: string; reason: string }>;
  /** The file's size: the planned volume (plan.sizeBytes) and ISO_PADDING_BYTES of zeros. */
  imageBytes: number;
  /** ISO 9660 and Joliet names the writer changed (what mkisofs prints as "Using … for …"). */
  renamed: number;
  /** Reads the host files while the image is written (writeIsoRecipe closes what it opened). */
  sources: HostSources;
  fileCount: number;
  fileBytes: number;
}

// --- Host files as sources ---

/** Reads host files for the writer: each opened when the writer gets to it (O_NOFOLLOW: a file swapped for a link is not followed), read through one buffer, closed at its end. */
export class HostSources {
  private buffer = Buffer.allocUnsafeSlow(MIB);
  private readonly open = new Map<string, number>();

  source(path: string, sizeBytes: number): IsoFileSource {
    return {
      sizeBytes,
      read: async (offsetBytes, lengthBytes) => {
        let fd = this.open.get(path);
        if (fd === undefined) {
          try {
            fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
          } catch (error) {
            throw new LoopbackError('IO', `${path}: ${(error as Error).message} (it was there when the build was planned)`, { path });
          }
          this.open.set(path, fd);
        }
        if (this.buffer.length < lengthBytes) this.buffer = Buffer.allocUnsafeSlow(lengthBytes);
        let done = 0;
        while (done < lengthBytes) {
          const n = readSync(fd, this.buffer, done, lengthBytes - done, offsetBytes + done);
          if (n === 0) break; // shorter than planned: the writer says so
          done += n;
        }
        if (offsetBytes + lengthBytes >= sizeBytes || done < lengthBytes) this.close(path);
        return this.buffer.subarray(0, done);
      },
    };
  }

  private close(path: string): void {
    const fd = this.open.get(path);
    if (fd === undefined) return;
    this.open.delete(path);
    closeSync(fd);
  }

  closeAll(): void {
    for (const path of [...this.open.keys()]) this.close(path);
  }
}

// --- Planning ---

interface TreeBuilder {
  entries: IsoEntry[];
  origins: IsoEntryOrigin[];
  byPath: Map<string, number>;
  /** The date of folders only implied by a deeper path. */
  dateMs: number;
}

function describeOrigin(origin: IsoEntryOrigin): string {
  return origin.boot ? `the boot loader's files (${origin.field})` : `${origin.field}${origin.host ? ` (${origin.host})` : ''}`;
}

/** Adds an entry; two entries for one path: folders merge, anything else is refused naming both fields. */
function add(tree: TreeBuilder, entry: IsoEntry, origin: IsoEntryOrigin): void {
  const earlier = tree.byPath.get(entry.path);
  if (earlier !== undefined) {
    const first = tree.entries[earlier]!;
    if (first.type === 'directory' && entry.type === 'directory') return;
    const firstOrigin = tree.origins[earlier]!;
    const blamed = origin.boot && !firstOrigin.boot ? firstOrigin : origin;
    const other = blamed === origin ? firstOrigin : origin;
    throw fieldError(
      'VALIDATION',
      blamed.field.replace(/\.from$/, '.to'),
      `${entry.path} would be in the image twice: ${blamed.host ?? 'this entry'} and ${describeOrigin(other)}${other.boot && other.field === 'bootloader.menu' ? ' (the menu writes /boot/grub/grub.cfg: leave the menu out to use your own grub.cfg, or do not copy one)' : ''}. Nothing was written`,
      { path: entry.path },
    );
  }
  // The folders on the way, as `mkisofs -r` records folders (r-x for all); a file there is refused.
  const parts = entry.path.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const folder = `/${parts.slice(0, i).join('/')}`;
    const index = tree.byPath.get(folder);
    if (index === undefined) {
      tree.byPath.set(folder, tree.entries.length);
      tree.entries.push({ type: 'directory', path: folder, mode: 0o555, modifiedMs: tree.dateMs });
      tree.origins.push(origin);
    } else if (tree.entries[index]!.type !== 'directory') {
      throw fieldError(
        'VALIDATION',
        origin.field.replace(/\.from$/, '.to'),
        `${entry.path} cannot go into the image: ${folder} is a ${tree.entries[index]!.type === 'symlink' ? 'link' : 'file'} there (${describeOrigin(tree.origins[index]!)}), not a folder. Nothing was written`,
        { path: entry.path },
      );
    }
  }
  tree.byPath.set(entry.path, tree.entries.length);
  tree.entries.push(entry);
  tree.origins.push(origin);
}

interface CopyContext {
  /** The entries found, added to the tree after the boot loader's (so a clash blames the recipe's file). */
  pending: Array<[IsoEntry, IsoEntryOrigin]>;
  sources: HostSources;
  dateMs: number | null;
  field: string;
  skipped: Array<{ path: string; reason: string }>;
  files: number;
  bytes: number;
}

function dated(stats: Stats, ctx: CopyContext): { modifiedMs: number } {
  return { modifiedMs: ctx.dateMs ?? Math.floor(stats.mtimeMs / 1000) * 1000 };
}

/** A host folder or file into the tree at `to` (folders recursively; links as links, as Rock Ridge keeps them). */
function copyEntry(from: string, to: string, stats: Stats, ctx: CopyContext): void {
  const origin: IsoEntryOrigin = { field: ctx.field, host: from, boot: false };
  if (stats.isSymbolicLink()) {
    ctx.pending.push([{ type: 'symlink', path: to, target: readlinkSync(from), ...dated(stats, ctx) }, origin]);
  } else if (stats.isDirectory()) {
    ctx.pending.push([{ type: 'directory', path: to, mode: rationalMode(stats, 'directory'), ...dated(stats, ctx) }, origin]);
    for (const name of readdirSync(from).sort()) {
      const child = join(from, name);
      copyEntry(child, imageJoin(to, name), lstatSync(child), ctx);
    }
  } else if (stats.isFile()) {
    ctx.pending.push([
      { type: 'file', path: to, content: ctx.sources.source(from, stats.size), mode: rationalMode(stats, 'file'), ...dated(stats, ctx) },
      origin,
    ]);
    ctx.files++;
    ctx.bytes += stats.size;
  } else {
    ctx.skipped.push({ path: from, reason: 'not a regular file, folder or link (devices, pipes and sockets cannot go into an image)' });
  }
}

/** The recipe's date, or SOURCE_DATE_EPOCH (reproducible builds), else now and the files' own times. */
function volumeDate(recipe: Recipe, env: NodeJS.ProcessEnv): { dateMs: number; fixed: boolean } {
  const date = recipe.image.iso?.date;
  if (date !== undefined) return { dateMs: parseRecipeDate(date), fixed: true };
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d{1,12}$/.test(epoch)) return { dateMs: Number(epoch) * 1000, fixed: true };
  return { dateMs: Math.floor(Date.now() / 1000) * 1000, fixed: false };
}

/** Re-throws a LoopbackError from host checks with the field in front of its message. */
async function at<T>(field: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LoopbackError && !error.message.startsWith(field)) {
      throw fieldError(
        error.code === 'HOST_TOOL_MISSING' || error.code === 'NOT_FOUND' || error.code === 'INVALID_INPUT' ? error.code : 'VALIDATION',
        field,
        error.message,
        error.details ?? {},
      );
    }
    throw error;
  }
}

/** The FAT image of the EFI system partition: /EFI/BOOT/BOOTX64.EFI, dated `dateMs` throughout so it is the same each time. */
export async function espImage(bootx64: Uint8Array, dateMs: number): Promise<Uint8Array> {
  // Room for the file, the FAT and the folders, in whole MiB (grub-mkrescue makes 2.88 MB).
  const sizeBytes = Math.max(2 * MIB, Math.ceil((bootx64.length + 256 * 1024) / MIB) * MIB);
  const device = new MemoryBlockDevice(sizeBytes);
  await formatFat(device, { volumeId: Math.floor(dateMs / 1000) >>> 0, media: 'disk' });
  const fat = await openFat(device);
  await fat.mkdir(EFI_BOOT_DIR, { parents: true, modifiedMs: dateMs });
  await fat.writeFile(EFI_BOOT_FILE, bootx64, { modifiedMs: dateMs });
  await fat.flush();
  return device.bytes;
}

/** planIso's field → the recipe's. */
function recipeField(problemField: string, origins: readonly IsoEntryOrigin[], bootField: string): string {
  const entry = /^entries\[(\d+)\]/.exec(problemField);
  if (entry) return origins[Number(entry[1])]?.field ?? 'files';
  if (problemField === 'entries') return 'files';
  if (problemField === 'options.volumeIdentifier') return 'image.iso.volumeId';
  if (problemField === 'options.dateMs') return 'image.iso.date';
  if (problemField === 'options.level') return 'image.iso.level';
  if (problemField.startsWith('boot.bios.loadSectors')) return `${bootField}.loadSectors`;
  if (problemField.startsWith('boot.bios.bootInfoTable')) return `${bootField}.bootInfoTable`;
  if (problemField.startsWith('boot.')) return bootField;
  return 'image.iso';
}

/** planIso's problem message, its "entries[3].path" replaced by the host path or the recipe field. */
function recipeMessage(message: string, origins: readonly IsoEntryOrigin[]): string {
  return message
    .replace(/^entries\[\d+\](\.\w+)? /, '')
    .replace(/entries\[(\d+)\]/g, (_, i: string) => origins[Number(i)]?.host ?? origins[Number(i)]?.field ?? `entry ${i}`);
}

/**
 * Checks an ISO recipe against the host and plans the image, writing nothing. Throws the first
 * problem (or all the name collisions at once), naming the recipe field.
 */
export async function planIsoRecipe(
  recipe: Recipe,
  baseDir: string,
  roots: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<IsoRecipePlan> {
  const options = recipe.image.iso!;
  const { dateMs, fixed } = volumeDate(recipe, env);
  const level = options.level ?? 1;
  const nameCollisions = options.nameCollisions ?? 'refuse';
  const b = recipe.bootloader;
  const firmware: Grub2Firmware = b?.grub2?.firmware ?? 'bios';
  const hybrid = options.hybrid ?? Boolean(b?.grub2 && usesBios(firmware));
  const tree: TreeBuilder = { entries: [], origins: [], byPath: new Map(), dateMs };
  const sources = new HostSources();
  const skipped: IsoRecipePlan['skipped'] = [];

  // The recipe's files: their host entries, walked once (while grub-mkimage runs, for GRUB).
  let walked: Promise<{ pending: CopyContext['pending']; copies: IsoCopy[]; fileCount: number; fileBytes: number }> | null = null;
  const walk = () =>
    (walked ??= (async () => {
      const pending: CopyContext['pending'] = [];
      const copies: IsoCopy[] = [];
      let fileCount = 0;
      let fileBytes = 0;
      for (const [i, file] of (recipe.files ?? []).entries()) {
        const field = `files[${i}]`;
        const from = await recipeSource(baseDir, file.from, roots, `${field}.from`);
        // The top level is followed when it is a link (recipeSource checked where it leads); inside folders, links stay links.
        const stats = await fs.stat(from).catch(() => null);
        if (!stats) throw fieldError('NOT_FOUND', `${field}.from`, `${from} does not exist`, { path: from });
        if (!stats.isFile() && !stats.isDirectory())
          throw fieldError('INVALID_INPUT', `${field}.from`, `${from} is not a file or a folder`, { path: from });
        const to = file.to.endsWith('/') ? imageJoin(file.to, basename(from)) : file.to.replace(/\/+$/, '') || '/';
        if (to === '/' && !stats.isDirectory())
          throw fieldError('INVALID_INPUT', `${field}.to`, `"/" is the image's root folder: give the file a name ("/${basename(from)}")`);
        const ctx: CopyContext = { pending, sources, dateMs: fixed ? dateMs : null, field: `${field}.from`, skipped, files: 0, bytes: 0 };
        const real = stats.isFile() ? await fs.realpath(from) : from;
        copyEntry(real, to, stats, ctx);
        copies.push({ field, from, to, folder: stats.isDirectory(), bytes: ctx.bytes });
        fileCount += ctx.files;
        fileBytes += ctx.bytes;
      }
      return { pending, copies, fileCount, fileBytes };
    })());

  // The boot loader's files first: a recipe file on one of their paths is the one refused.
  let boot: IsoBootPlan | null = null;
  const bootOrigin = (field: string): IsoEntryOrigin => ({ field, host: null, boot: true });
  if (b?.grub2) {
    const field = 'bootloader.grub2';
    const coreModules = b.grub2.coreModules ?? [];
    const uuid = isoUuid(dateMs);
    const early = grubEarlyConfig(uuid);
    const menu = b.menu ? toBootMenu(b.menu) : null;
    if (menu) await at('bootloader.menu', () => checkMenu(menu, 'grub2'));
    let bios: Extract<IsoBootPlan, { kind: 'grub2' }>['bios'] = null;
    let efi: Extract<IsoBootPlan, { kind: 'grub2' }>['efi'] = null;
    // Both images at once: grub-mkimage runs as two processes.
    const biosFiles = usesBios(firmware) ? await at(field, () => findGrub2()) : null;
    const efiFiles = usesUefi(firmware) ? await at(`${field}.firmware`, () => findGrub2Efi()) : null;
    const eltoritoModules = [...new Set([...ELTORITO_MODULES, ...coreModules])];
    const efiModuleList = efiModules('fat', ['iso9660', ...coreModules]);
    const images = Promise.all([
      biosFiles
        ? at(coreModules.length ? `${field}.coreModules` : field, () =>
            buildCoreImage(biosFiles, ISO_GRUB_DIR, eltoritoModules, 'i386-pc-eltorito', early),
          )
        : null,
      efiFiles
        ? at(coreModules.length ? `${field}.coreModules` : field, () =>
            buildCoreImage(efiFiles, ISO_GRUB_DIR, efiModuleList, 'x86_64-efi', early),
          )
        : null,
    ]);
    images.catch(() => {}); // awaited below; a refusal before then must not go unhandled
    await walk().catch(async (error: unknown) => {
      await images.catch(() => {});
      throw error;
    });
    if (biosFiles) {
      const files = biosFiles;
      let bootHybrid: Uint8Array | null = null;
      if (hybrid) {
        const path = join(files.dir, BOOT_HYBRID_IMG);
        const bytes = await fs.readFile(path).catch(() => null);
        if (!bytes)
          throw fieldError(
            'HOST_TOOL_MISSING',
            'image.iso.hybrid',
            `GRUB's ${BOOT_HYBRID_IMG} is not in ${files.dir}: it comes with GRUB 2 for BIOS (Debian: grub-pc-bin); or leave hybrid out ("hybrid": false) for a CD-only image`,
            { path },
          );
        bootHybrid = new Uint8Array(bytes);
      }
      const moduleFiles = await grub2ModuleFiles(files.dir);
      const eltorito = (await images)[0]!;
      bios = { files, eltorito, modules: eltoritoModules, moduleFiles, bootHybrid };
      add(tree, { type: 'file', path: ISO_ELTORITO_PATH, content: eltorito, mode: 0o444, modifiedMs: dateMs }, bootOrigin(field));
      for (const name of moduleFiles) {
        const path = join(files.dir, name);
        const stats = statSync(path);
        add(
          tree,
          {
            type: 'file',
            path: `${ISO_BIOS_MODULE_DIR}/${name}`,
            content: sources.source(path, stats.size),
            mode: 0o444,
            modifiedMs: fixed ? dateMs : Math.floor(stats.mtimeMs / 1000) * 1000,
          },
          bootOrigin(field),
        );
      }
    }
    if (efiFiles) {
      const image = (await images)[1]!;
      efi = { files: efiFiles, image, modules: efiModuleList, esp: await espImage(image, dateMs) };
    }
    const cfg = menu ? grubCfg(menu, ISO_GRUB_CFG_MODULES) : null;
    if (cfg !== null)
      add(
        tree,
        { type: 'file', path: ISO_GRUB_CFG, content: new TextEncoder().encode(cfg), mode: 0o444, modifiedMs: dateMs },
        bootOrigin('bootloader.menu'),
      );
    boot = { kind: 'grub2', firmware, menu, grubCfg: cfg, uuid, bios, efi, coreModules };
  }

  // The recipe's files, added after the boot loader's; walked while grub-mkimage runs.
  for (const [entry, origin] of (await walk()).pending) add(tree, entry, origin);
  const { copies, fileCount, fileBytes } = await walk();

  // The boot image of the user's own, or GRUB's grub.cfg and kernels.
  let bootField = 'bootloader';
  let isoBoot: IsoOptions['boot'];
  if (b?.bootImage) {
    bootField = 'bootloader.bootImage';
    const spec = b.bootImage;
    let file: string | null = null;
    let path = spec.path ?? null;
    if (spec.file !== undefined) {
      file = await recipeSource(baseDir, spec.file, roots, `${bootField}.file`);
      const stats = await fs.stat(file).catch(() => null);
      if (!stats?.isFile()) throw fieldError('NOT_FOUND', `${bootField}.file`, `${file} is not a file`, { path: file });
      if (stats.size === 0)
        throw fieldError('VALIDATION', `${bootField}.file`, `${file} is empty: a boot image is the program the BIOS loads to 0000:7C00`, {
          path: file,
        });
      path ??= `/boot/${basename(file)}`;
      add(
        tree,
        {
          type: 'file',
          path,
          content: sources.source(await fs.realpath(file), stats.size),
          mode: 0o444,
          ...(fixed ? { modifiedMs: dateMs } : {}),
        },
        { field: `${bootField}.file`, host: file, boot: true },
      );
    } else {
      const index = tree.byPath.get(path!);
      if (index === undefined || tree.entries[index]!.type !== 'file') {
        throw fieldError(
          'NOT_FOUND',
          `${bootField}.path`,
          `${path} is not a file that files[] copies into the image: copy it there, or give the host file as "file"`,
          { path },
        );
      }
    }
    const loadSectors = spec.loadSectors ?? 4;
    const bootInfoTable = spec.bootInfoTable ?? false;
    boot = { kind: 'boot-image', path: path!, file, loadSectors, bootInfoTable };
    isoBoot = { bios: { path: path!, loadSectors, bootInfoTable } };
  } else if (boot?.kind === 'grub2') {
    bootField = 'bootloader.grub2';
    const cfgIndex = tree.byPath.get(ISO_GRUB_CFG);
    if (cfgIndex === undefined || tree.entries[cfgIndex]!.type !== 'file') {
      throw fieldError(
        'VALIDATION',
        bootField,
        `GRUB reads ${ISO_GRUB_CFG}, and the recipe has neither a menu ("bootloader": {"menu": …}) nor a files[] entry that copies one there (the Bare Bones tutorial's: { "from": "grub.cfg", "to": "${ISO_GRUB_CFG}" })`,
      );
    }
    if (boot.menu) {
      for (const [i, entry] of boot.menu.entries.entries()) {
        const paths: Array<[string, string]> = [
          [`bootloader.menu.entries[${i}].kernel`, entry.kernel],
          ...(entry.modules ?? []).map((m, j): [string, string] => [`bootloader.menu.entries[${i}].modules[${j}]`, m.path]),
        ];
        for (const [field, path] of paths) {
          const index = tree.byPath.get(path);
          if (index === undefined || tree.entries[index]!.type === 'directory') {
            throw fieldError(
              'NOT_FOUND',
              field,
              `${path} is not copied into the image by any files[] entry: add { "from": "…", "to": "${path}" } to files`,
              { path },
            );
          }
        }
      }
    }
    isoBoot = {
      ...(boot.bios ? { bios: { path: ISO_ELTORITO_PATH, loadSectors: 4, bootInfoTable: true, grub2BootInfo: true } } : {}),
      ...(boot.efi ? { efi: { appended: boot.efi.esp } } : {}),
      ...(hybrid && boot.bios?.bootHybrid ? { hybridMbr: { bootCode: boot.bios.bootHybrid } } : {}),
    };
  }
  if (isoBoot && !tree.byPath.has(ISO_CATALOG_PATH)) isoBoot.catalogPath = ISO_CATALOG_PATH;

  let plan: IsoPlan;
  try {
    plan = planIso(tree.entries, {
      dateMs,
      ...(options.volumeId !== undefined ? { volumeIdentifier: options.volumeId } : {}),
      level,
      nameCollisions: 'rename',
      ...(isoBoot ? { boot: isoBoot } : {}),
    });
  } catch (error) {
    if (!(error instanceof LoopbackError) || error.code !== 'VALIDATION' || !Array.isArray(error.details?.problems)) throw error;
    const problems = error.details.problems as Array<{ field: string; message: string }>;
    const first = problems[0]!;
    const lines = problems.map((p) => `${recipeField(p.field, tree.origins, bootField)}: ${recipeMessage(p.message, tree.origins)}`);
    const field = recipeField(first.field, tree.origins, bootField);
    throw new LoopbackError('VALIDATION', lines.length === 1 ? lines[0]! : `${lines.length} problems:\n${lines.join('\n')}`, {
      field,
      problems: lines,
    });
  }
  if (nameCollisions === 'refuse') refuseCollisions(plan, tree, level);
  return {
    volumeId: options.volumeId ?? 'ISOIMAGE',
    dateMs,
    dateFixed: fixed,
    level,
    nameCollisions,
    hybrid: Boolean(plan.hybridMbr),
    copies,
    boot,
    entries: tree.entries,
    origins: tree.origins,
    plan,
    skipped,
    imageBytes: plan.sizeBytes + ISO_PADDING_BYTES,
    renamed: plan.nameChanges.length,
    sources,
    fileCount,
    fileBytes,
  };
}

/** Two of the recipe's names that became one ISO 9660 (or Joliet) name: refused, all at once, each naming its field. */
function refuseCollisions(plan: IsoPlan, tree: TreeBuilder, level: 1 | 2): void {
  const originOf = (path: string): IsoEntryOrigin | null => {
    const index = tree.byPath.get(path);
    if (index !== undefined) return tree.origins[index]!;
    // A folder only implied by a deeper path: whoever put something below it.
    const below = [...tree.byPath.keys()].find((p) => p.startsWith(`${path}/`));
    return below !== undefined ? tree.origins[tree.byPath.get(below)!]! : null;
  };
  const lines: string[] = [];
  let field: string | null = null;
  let caseOnly = true;
  for (const change of plan.nameChanges) {
    if (change.sharedWith === null) continue;
    const origin = originOf(change.path);
    const other = originOf(change.sharedWith);
    if (!origin || !other || (origin.boot && other.boot)) continue;
    const blamed = origin.boot ? other : origin;
    field ??= blamed.field;
    const host = (o: IsoEntryOrigin, path: string) => (o.boot ? `${path} (the boot loader's)` : path);
    const tree9660 = change.tree === 'iso9660';
    const index = tree.byPath.get(change.path);
    const kind = index !== undefined && tree.entries[index]!.type !== 'directory' ? 'file' : 'directory';
    if (change.path.toLowerCase() !== change.sharedWith.toLowerCase()) caseOnly = false;
    const mapped = isoIdentifier(mapIsoName(change.path.slice(change.path.lastIndexOf('/') + 1), kind, level), kind);
    lines.push(
      `${blamed.field}: ${host(other, change.sharedWith)} and ${host(origin, change.path)} both map to the ${tree9660 ? `ISO 9660 name "${mapped}" (level ${level})` : `Joliet name "${change.used}" (Windows' view: 64 characters at most, no * / : ; ? \\)`}`,
    );
  }
  if (!lines.length) return;
  const shown = lines.slice(0, 10);
  throw new LoopbackError(
    'VALIDATION',
    `${shown.join('\n')}${lines.length > shown.length ? `\n… and ${lines.length - shown.length} more` : ''}\n` +
      'Rock Ridge and Joliet keep both real names; only readers of plain ISO 9660 names (DOS, a first ISO driver of your own OS) would see one name for two files. ' +
      `Rename one${caseOnly ? ' (plain ISO 9660 names are upper case)' : ', use "level": 2 (30-character names)'}, or let the build rename the second as mkisofs and grub-mkrescue do: "image": {"iso": {"nameCollisions": "rename"}}. Nothing was written`,
    { field, problems: lines },
  );
}

export function summarizeIso(plan: IsoRecipePlan): IsoSummary {
  return {
    volumeId: plan.volumeId,
    date: new Date(plan.dateMs).toISOString(),
    dateFixed: plan.dateFixed,
    level: plan.level,
    hybrid: plan.hybrid,
    boot: (plan.plan.boot?.entries ?? []).map((e) => ({ platform: e.platform, path: e.path, sectors: e.sectorCount })),
    renamed: plan.renamed,
    uuid: isoUuid(plan.dateMs),
  };
}

/**
 * Writes the planned image to `temp` (a new file: created, sized, written front to back, synced).
 * The caller renames it into place. Cancelling stops between files (CANCELLED).
 */
export async function writeIsoRecipe(plan: IsoRecipePlan, temp: string, options: ProgressOptions = {}): Promise<void> {
  const handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOCTTY ?? 0), 0o644);
  try {
    // The padding stays a hole: zeros, written by nobody.
    await handle.truncate(plan.imageBytes);
  } finally {
    await handle.close();
  }
  // No background syncs while writing (file-block-device.ts's WRITEBACK_BYTES): an image written
  // front to back in large pieces goes faster with one sync at the end (measured: 0.65 s → 0.45 s
  // for 200 MiB in 2 000 files), which flush() still makes durable before the rename.
  const device = await FileBlockDevice.open(temp, { writable: true, writebackBytes: 0 });
  try {
    await writeIso(plan.plan, device, options);
    await device.flush();
  } finally {
    plan.sources.closeAll();
    await device.close();
  }
}

/** The size of the image and what fills it, for messages: "4.2 MiB: 3 files (36.2 KiB), GRUB 2 for BIOS and UEFI". */
export function describeIsoPlan(plan: IsoRecipePlan): string {
  const boot =
    plan.boot?.kind === 'grub2'
      ? `GRUB 2 for ${[plan.boot.bios ? 'BIOS' : '', plan.boot.efi ? 'UEFI' : ''].filter(Boolean).join(' and ')}`
      : plan.boot
        ? `boot image ${plan.boot.path}`
        : 'not bootable';
  return `${formatBytes(plan.imageBytes)}: ${plan.fileCount} file${plan.fileCount === 1 ? '' : 's'} (${formatBytes(plan.fileBytes)}), ${boot}${plan.hybrid ? ', hybrid (boots as a disk too)' : ''}`;
}
