/**
 * Planning an ISO image: every check, every name and every block decided before a byte is
 * written. planIso is pure (it reads no file data): it refuses bad input with one VALIDATION
 * error listing every problem, each naming its field, and otherwise returns the plan writeIso
 * (write.ts) carries out. The plan's numbers (sizeBytes, where each file lies, the boot entries,
 * the MBR) are also what an `info`, a dry run or `--print-commands` can show.
 *
 * Layout, in logical blocks of 2048 bytes, in this order (mkisofs and xorriso use the same
 * order, give or take where file data and the catalog go):
 *
 *   0–15   System Area: zeros, or the hybrid MBR in its first 512 bytes (grub2-iso.ts)
 *   16     Primary Volume Descriptor
 *   17     El Torito Boot Record (El Torito requires block 17), when booting
 *   …      Joliet Supplementary Volume Descriptor, when Joliet is on
 *   …      Volume Descriptor Set Terminator
 *   …      path tables: ISO 9660 type L, type M; Joliet type L, type M
 *   …      ISO 9660 directories, in path table order; then Joliet directories
 *   …      Rock Ridge continuation areas (SUSP CE) for records whose entries do not fit
 *   …      the El Torito boot catalog
 *   …      file data, in tree order (parents before children, names in UTF-16 order), each file
 *          from a block boundary; empty files and symbolic links have no data (extent 0)
 *   …      the appended EFI system partition image, when there is one
 *
 * volumeSpaceSize covers all of it, the appended partition included, as xorriso writes it.
 */
import type { MbrSector } from '../../disk/mbr-sector';
import { LoopbackError } from '../../errors';
import { hybridMbrSector, SECTORS_PER_ISO_BLOCK, GRUB2_BOOT_INFO_OFFSET } from '../../boot/grub2-iso';
import { fitsDirectoryDate, describeMs } from './dates';
import { directoryRecordLength, MAX_DIRECTORY_RECORD_BYTES, PARENT_IDENTIFIER, SELF_IDENTIFIER, systemUseOffset } from './directory-record';
import { BOOT_INFO_TABLE_END, MAX_SECTOR_COUNT, VIRTUAL_SECTOR_BYTES, BOOT_RECORD_BLOCK } from './el-torito';
import { assignIsoIdentifiers, assignJolietNames, compareIdentifiers, jolietIdentifier, type IsoLevel, type NamedEntry } from './names';
import { asciiBytes, encodeUcs2 } from './numbers';
import { MAX_PATH_TABLE_DIRECTORIES, pathTableRecordLength } from './path-table';
import { encodeNm, encodePx, encodeSl, encodeTf, RRIP_1991A } from './rock-ridge';
import { CE_LENGTH, encodeEr, encodeSp } from './susp';
import {
  buildTree,
  describeBytes,
  findNode,
  MAX_FILE_BYTES,
  pathProblem,
  toSource,
  walkTree,
  type IsoEntry,
  type IsoFileSource,
  type IsoNode,
  type IsoProblem,
} from './tree';
import { FIRST_VOLUME_DESCRIPTOR_BLOCK, LOGICAL_BLOCK_BYTES } from './volume-descriptor';

export interface IsoBiosBoot {
  /** The boot image: a file of the tree ("/boot/grub/i386-pc/eltorito.img"). */
  path: string;
  /** 512-byte sectors the BIOS loads (El Torito sectorCount). Default 4, as grub-mkrescue and ISOLINUX use. */
  loadSectors?: number;
  /** Patch bytes 8–63 with the boot info table (xorriso -boot-info-table). Default false. */
  bootInfoTable?: boolean;
  /** Patch GRUB's block-list at byte 2548 (xorriso --grub2-boot-info). Default false. */
  grub2BootInfo?: boolean;
}

export type IsoEfiBoot =
  /** The EFI system partition image is a file of the tree (xorriso -e PATH). */
  | { path: string }
  /** The image is appended after the ISO filesystem, as MBR partition 2 when there is a hybrid MBR (xorriso -append_partition 2 0xef IMG). */
  | { appended: IsoFileSource | Uint8Array };

export interface IsoBootOptions {
  /** A BIOS no-emulation boot entry (platform x86): the initial entry of the catalog. */
  bios?: IsoBiosBoot;
  /** A UEFI no-emulation boot entry (platform 0xEF): a FAT image holding /EFI/BOOT/BOOTX64.EFI. */
  efi?: IsoEfiBoot;
  /** Where the catalog shows as a file ("/boot.catalog", as grub-mkrescue has it); hidden when omitted. */
  catalogPath?: string;
  /**
   * GRUB's boot_hybrid.img (at least its first 432 bytes): the System Area gets a hybrid MBR so
   * the image also boots as a disk (USB stick, `qemu -hda`). Needs `bios`; with `efi`, the EFI
   * image must be `appended` (it becomes MBR partition 2).
   */
  hybridMbr?: { bootCode: Uint8Array };
}

export interface IsoOptions {
  /** The volume's creation and modification date, and every entry's date unless it has its own (ms since the epoch). */
  dateMs: number;
  /** Up to 32 printable ASCII characters (the label Linux and GRUB's `search --label` see). Default "ISOIMAGE", as xorriso and grub-mkrescue. */
  volumeIdentifier?: string;
  systemIdentifier?: string;
  volumeSetIdentifier?: string;
  publisherIdentifier?: string;
  dataPreparerIdentifier?: string;
  applicationIdentifier?: string;
  /** ISO 9660 interchange level of the plain names: 1 (8.3, the default, as grub-mkrescue) or 2 (30 characters). */
  level?: IsoLevel;
  /** Rock Ridge (POSIX names, modes, times, symlinks). Default true. */
  rockRidge?: boolean;
  /** Joliet (Windows names). Default true. */
  joliet?: boolean;
  /** Two names of a folder that map to one ISO 9660 name: 'rename' one (mkisofs's way, the default) or 'refuse'. */
  nameCollisions?: 'rename' | 'refuse';
  /** Names longer than Joliet's 64 characters: 'truncate' the Joliet name (the default; Rock Ridge keeps it whole) or 'refuse'. */
  jolietLongNames?: 'truncate' | 'refuse';
  boot?: IsoBootOptions;
}

export const DEFAULT_VOLUME_IDENTIFIER = 'ISOIMAGE';
export const DEFAULT_LOAD_SECTORS = 4;
/** A boot image we patch is read whole into memory; GRUB's is ~30 KiB, ISOLINUX's 40 KiB. */
export const MAX_PATCHED_BOOT_IMAGE_BYTES = 32 * 1024 * 1024;

/** A name the writer changed, to show as mkisofs shows "Using READM000.TXT;1 for /ReadMe.TXT". */
export interface IsoNameChange {
  path: string;
  tree: 'iso9660' | 'joliet';
  /** The name recorded in that tree. */
  used: string;
  /** Why: the path of the entry that kept the mapped name, or null when a Joliet name was only cut or cleaned. */
  sharedWith: string | null;
}

export interface IsoPlannedFile {
  path: string;
  /** First logical block of the data (0 for empty files). */
  locationOfExtent: number;
  dataLength: number;
}

export interface IsoPlannedBootEntry {
  platform: 'bios' | 'efi';
  /** The tree path of the image, or null for an appended EFI partition. */
  path: string | null;
  loadRba: number;
  sectorCount: number;
  sizeBytes: number;
}

export interface IsoPlan {
  readonly sizeBytes: number;
  /** Logical blocks (2048 bytes). */
  readonly volumeSpaceSize: number;
  readonly files: readonly IsoPlannedFile[];
  readonly nameChanges: readonly IsoNameChange[];
  readonly boot: { catalogBlock: number; entries: IsoPlannedBootEntry[] } | null;
  /** The appended EFI partition: first block and size in blocks. */
  readonly appendedPartition: { startBlock: number; blocks: number } | null;
  readonly hybridMbr: MbrSector | null;
  /** What writeIso needs; not for callers. */
  readonly internal: PlanInternal;
}

// --- Internal structures ---

/** Part of a Rock Ridge continuation chain: entries recorded in one continuation area. */
export interface Chunk {
  entries: Uint8Array[];
  next: Chunk | null;
  lengthBytes: number;
  /** Block within the continuation region, and byte offset in it (set by the layout). */
  areaBlock: number;
  offset: number;
}

export interface RecordPlan {
  /** The node the record describes ("." → the directory itself, ".." → its parent). */
  node: IsoNode;
  identifier: Uint8Array;
  inline: Uint8Array[];
  continuation: Chunk | null;
  lengthBytes: number;
  offsetInExtent: number;
}

export interface DirectoryPlan {
  node: IsoNode;
  /** 1-based position in the path table. */
  number: number;
  parentNumber: number;
  /** The directory's identifier in its parent (0x00 for the root). */
  identifier: Uint8Array;
  records: RecordPlan[];
  sizeBytes: number;
  block: number;
}

export interface TreePlan {
  directories: DirectoryPlan[];
  byNode: Map<IsoNode, DirectoryPlan>;
  pathTableSize: number;
  pathTableLBlock: number;
  pathTableMBlock: number;
}

export interface PlanInternal {
  options: Required<Omit<IsoOptions, 'boot'>>;
  root: IsoNode;
  iso: TreePlan;
  joliet: TreePlan | null;
  /** Rock Ridge continuation areas: first block and chunks in order. */
  continuationBlock: number;
  continuationBlocks: number;
  chunks: Chunk[];
  /** Each file node's data block (and the catalog node's, which is the catalog block). */
  fileBlock: Map<IsoNode, number>;
  /** File nodes with data, in block order. */
  dataFiles: IsoNode[];
  firstDataBlock: number;
  catalogNode: IsoNode | null;
  pvdBlock: number;
  bootRecordBlock: number | null;
  svdBlock: number | null;
  terminatorBlock: number;
  bios: { node: IsoNode; loadSectors: number; bootInfoTable: boolean; grub2BootInfo: boolean } | null;
  efi: { node: IsoNode } | { appended: IsoFileSource } | null;
  catalogBlock: number | null;
}

const blocksFor = (bytes: number) => Math.ceil(bytes / LOGICAL_BLOCK_BYTES);
/** A record is at most 255 bytes and always even: 254 usable. */
const MAX_EVEN_RECORD_BYTES = MAX_DIRECTORY_RECORD_BYTES - 1;

function printableAsciiProblem(value: unknown, maxChars: number): string | null {
  if (typeof value !== 'string') return 'must be text';
  if (value.length > maxChars) return `has ${value.length} characters; at most ${maxChars} fit`;
  if (!/^[\x20-\x7e]*$/.test(value)) return 'may only hold printable ASCII characters';
  return null;
}

/** Splits a record's SUSP entries into what fits in the record and a continuation chain. */
function splitSystemUse(entries: Uint8Array[], identifierLength: number): { inline: Uint8Array[]; continuation: Chunk | null } {
  const available = MAX_EVEN_RECORD_BYTES - systemUseOffset(identifierLength);
  const total = entries.reduce((n, e) => n + e.length, 0);
  if (total <= available) return { inline: entries, continuation: null };
  const inline: Uint8Array[] = [];
  let used = 0;
  let i = 0;
  while (i < entries.length && used + entries[i]!.length <= available - CE_LENGTH) {
    inline.push(entries[i]!);
    used += entries[i]!.length;
    i++;
  }
  const first: Chunk = { entries: [], next: null, lengthBytes: 0, areaBlock: 0, offset: 0 };
  let chunk = first;
  for (; i < entries.length; i++) {
    const entry = entries[i]!;
    const more = i < entries.length - 1;
    if (chunk.entries.length > 0 && chunk.lengthBytes + entry.length + (more ? CE_LENGTH : 0) > LOGICAL_BLOCK_BYTES) {
      const next: Chunk = { entries: [], next: null, lengthBytes: 0, areaBlock: 0, offset: 0 };
      chunk.next = next;
      chunk.lengthBytes += CE_LENGTH;
      chunk = next;
    }
    chunk.entries.push(entry);
    chunk.lengthBytes += entry.length;
  }
  return { inline, continuation: first };
}

/** Rock Ridge entries for the record of `node` in the role given. */
function rockRidgeEntries(node: IsoNode, role: 'self' | 'parent' | 'child', isRoot: boolean): Uint8Array[] {
  const links = node.kind === 'directory' ? 2 + node.children.filter((c) => c.kind === 'directory').length : 1;
  const px = encodePx({ posixFileMode: node.mode, posixFileLinks: links, posixFileUserId: node.uid, posixFileGroupId: node.gid });
  const tf = encodeTf({ modify: node.modifiedMs, access: node.modifiedMs, attributes: node.modifiedMs });
  if (role === 'self' && isRoot) return [encodeSp(0), px, tf, encodeEr(RRIP_1991A)];
  if (role !== 'child') return [px, tf];
  const entries = [px, tf, ...encodeNm(node.name)];
  if (node.kind === 'symlink' && node.target !== null) entries.push(...encodeSl(node.target));
  return entries;
}

/** Orders directories as 6.9.1 wants: by level, then parent number, then identifier. */
function pathTableOrder(
  root: IsoNode,
  identifierOf: (node: IsoNode) => string,
  include: (node: IsoNode) => boolean,
): { node: IsoNode; parent: IsoNode }[] {
  const order: { node: IsoNode; parent: IsoNode }[] = [{ node: root, parent: root }];
  let level = [root];
  while (level.length > 0) {
    const next: IsoNode[] = [];
    for (const dir of level) {
      const children = dir.children.filter((c) => c.kind === 'directory' && include(c));
      children.sort((a, b) => compareIdentifiers(identifierOf(a), identifierOf(b)));
      for (const child of children) {
        order.push({ node: child, parent: dir });
        next.push(child);
      }
    }
    level = next;
  }
  return order;
}

/** Records, sizes and path table numbers of one tree (ISO 9660 with Rock Ridge, or Joliet). */
function planTree(
  root: IsoNode,
  identifierOf: (node: IsoNode) => string,
  encodeIdentifier: (identifier: string) => Uint8Array,
  include: (node: IsoNode) => boolean,
  rockRidge: boolean,
): TreePlan {
  const order = pathTableOrder(root, identifierOf, include);
  const byNode = new Map<IsoNode, DirectoryPlan>();
  const directories: DirectoryPlan[] = [];
  order.forEach(({ node, parent }, i) => {
    const plan: DirectoryPlan = {
      node,
      number: i + 1,
      parentNumber: byNode.get(parent)?.number ?? 1,
      identifier: node === root ? SELF_IDENTIFIER : encodeIdentifier(identifierOf(node)),
      records: [],
      sizeBytes: 0,
      block: 0,
    };
    byNode.set(node, plan);
    directories.push(plan);
  });
  let pathTableSize = 0;
  for (const dir of directories) pathTableSize += pathTableRecordLength(dir.identifier.length);

  for (const dir of directories) {
    const node = dir.node;
    const parent = node.parent ?? node;
    const children = node.children.filter(include);
    children.sort((a, b) => compareIdentifiers(identifierOf(a), identifierOf(b)));
    const specs: { node: IsoNode; identifier: Uint8Array; role: 'self' | 'parent' | 'child' }[] = [
      { node, identifier: SELF_IDENTIFIER, role: 'self' },
      { node: parent, identifier: PARENT_IDENTIFIER, role: 'parent' },
      ...children.map((child) => ({ node: child, identifier: encodeIdentifier(identifierOf(child)), role: 'child' as const })),
    ];
    let offset = 0;
    for (const spec of specs) {
      const su = rockRidge
        ? splitSystemUse(rockRidgeEntries(spec.node, spec.role, spec.role === 'self' && node === root), spec.identifier.length)
        : { inline: [], continuation: null };
      const inlineBytes = su.inline.reduce((n, e) => n + e.length, 0) + (su.continuation ? CE_LENGTH : 0);
      const lengthBytes = directoryRecordLength(spec.identifier.length, inlineBytes);
      if ((offset % LOGICAL_BLOCK_BYTES) + lengthBytes > LOGICAL_BLOCK_BYTES) offset = blocksFor(offset) * LOGICAL_BLOCK_BYTES;
      dir.records.push({
        node: spec.node,
        identifier: spec.identifier,
        inline: su.inline,
        continuation: su.continuation,
        lengthBytes,
        offsetInExtent: offset,
      });
      offset += lengthBytes;
    }
    dir.sizeBytes = blocksFor(offset) * LOGICAL_BLOCK_BYTES;
  }
  return { directories, byNode, pathTableSize, pathTableLBlock: 0, pathTableMBlock: 0 };
}

function throwProblems(problems: IsoProblem[]): never {
  const message =
    problems.length === 1 ? problems[0]!.message : `${problems.length} problems: ${problems.map((p) => p.message).join('; ')}`;
  throw new LoopbackError('VALIDATION', message, { problems: problems.map((p) => ({ ...p })) });
}

/**
 * Checks `entries` and `options` and decides the whole image. Throws VALIDATION (nothing is
 * read or written) listing every problem found.
 */
export function planIso(entries: readonly IsoEntry[], options: IsoOptions): IsoPlan {
  const problems: IsoProblem[] = [];
  const opts: PlanInternal['options'] = {
    dateMs: options.dateMs,
    volumeIdentifier: options.volumeIdentifier ?? DEFAULT_VOLUME_IDENTIFIER,
    systemIdentifier: options.systemIdentifier ?? '',
    volumeSetIdentifier: options.volumeSetIdentifier ?? '',
    publisherIdentifier: options.publisherIdentifier ?? '',
    dataPreparerIdentifier: options.dataPreparerIdentifier ?? '',
    applicationIdentifier: options.applicationIdentifier ?? '',
    level: options.level ?? 1,
    rockRidge: options.rockRidge ?? true,
    joliet: options.joliet ?? true,
    nameCollisions: options.nameCollisions ?? 'rename',
    jolietLongNames: options.jolietLongNames ?? 'truncate',
  };

  // --- Options ---
  if (typeof opts.dateMs !== 'number' || !fitsDirectoryDate(opts.dateMs)) {
    problems.push({
      field: 'options.dateMs',
      message: `options.dateMs: ${describeMs(opts.dateMs)} is not a date in the years 1900–2155 ISO 9660 can record`,
      details: { dateMs: opts.dateMs },
    });
  }
  const textFields: [keyof PlanInternal['options'], number][] = [
    ['volumeIdentifier', 32],
    ['systemIdentifier', 32],
    ['volumeSetIdentifier', 128],
    ['publisherIdentifier', 128],
    ['dataPreparerIdentifier', 128],
    ['applicationIdentifier', 128],
  ];
  for (const [key, max] of textFields) {
    const problem = printableAsciiProblem(opts[key], max);
    if (problem)
      problems.push({
        field: `options.${key}`,
        message: `options.${key} ${JSON.stringify(opts[key])} ${problem}`,
        details: { [key]: opts[key] },
      });
  }
  if (opts.level !== 1 && opts.level !== 2)
    problems.push({
      field: 'options.level',
      message: `options.level must be 1 or 2, not ${String(opts.level)}`,
      details: { level: opts.level },
    });
  if (opts.nameCollisions !== 'rename' && opts.nameCollisions !== 'refuse')
    problems.push({ field: 'options.nameCollisions', message: `options.nameCollisions must be "rename" or "refuse"` });
  if (opts.jolietLongNames !== 'truncate' && opts.jolietLongNames !== 'refuse')
    problems.push({ field: 'options.jolietLongNames', message: `options.jolietLongNames must be "truncate" or "refuse"` });
  // The date and the level shape every later check; the other options do not stop them.
  if (problems.some((p) => p.field === 'options.dateMs' || p.field === 'options.level')) throwProblems(problems);

  // --- The tree ---
  const boot = options.boot;
  const allEntries: IsoEntry[] = [...entries];
  const catalogPath = boot?.catalogPath;
  if (catalogPath !== undefined) {
    const problem = pathProblem(catalogPath);
    if (problem || catalogPath === '/')
      problems.push({
        field: 'boot.catalogPath',
        message: `boot.catalogPath ${JSON.stringify(catalogPath)}: ${problem ?? 'the root cannot be the catalog'}`,
      });
    else if (entries.some((e) => e.path === catalogPath))
      problems.push({
        field: 'boot.catalogPath',
        message: `boot.catalogPath ${catalogPath} is also an entry of the tree`,
        details: { path: catalogPath },
      });
    else if (!boot?.bios && !boot?.efi)
      problems.push({ field: 'boot.catalogPath', message: 'boot.catalogPath is set but there is no boot image (boot.bios or boot.efi)' });
    else allEntries.push({ type: 'file', path: catalogPath, content: new Uint8Array(LOGICAL_BLOCK_BYTES), modifiedMs: opts.dateMs });
  }
  const root = buildTree(allEntries, opts.dateMs, problems, { symlinks: opts.rockRidge });
  const catalogNode = allEntries.length > entries.length && catalogPath !== undefined ? findNode(root, catalogPath) : null;

  // --- Boot ---
  let bios: PlanInternal['bios'] = null;
  let efi: PlanInternal['efi'] = null;
  const bootFile = (path: unknown, field: string): IsoNode | null => {
    if (typeof path !== 'string') {
      problems.push({ field, message: `${field} must be the path of a file in the image` });
      return null;
    }
    const node = findNode(root, path);
    if (!node)
      problems.push({
        field,
        message: `${field}: ${path} is not in the image's tree (add the boot image to the entries)`,
        details: { path },
      });
    else if (node.kind !== 'file') problems.push({ field, message: `${field}: ${path} is a ${node.kind}, not a file`, details: { path } });
    else if (node.sizeBytes === 0) problems.push({ field, message: `${field}: ${path} is empty`, details: { path } });
    else return node;
    return null;
  };
  if (boot?.bios) {
    const b = boot.bios;
    const node = bootFile(b.path, 'boot.bios.path');
    const loadSectors = b.loadSectors ?? DEFAULT_LOAD_SECTORS;
    if (!Number.isInteger(loadSectors) || loadSectors < 1 || loadSectors > MAX_SECTOR_COUNT) {
      problems.push({
        field: 'boot.bios.loadSectors',
        message: `boot.bios.loadSectors must be a whole number from 1 to ${MAX_SECTOR_COUNT} (512-byte sectors)`,
        details: { loadSectors },
      });
    }
    if (node) {
      const patched = Boolean(b.bootInfoTable || b.grub2BootInfo);
      if (patched && node.sizeBytes > MAX_PATCHED_BOOT_IMAGE_BYTES) {
        problems.push({
          field: 'boot.bios.path',
          message: `${node.path} is ${describeBytes(node.sizeBytes)}: a boot image to patch may be at most ${describeBytes(MAX_PATCHED_BOOT_IMAGE_BYTES)}`,
          details: { path: node.path },
        });
      }
      if (b.bootInfoTable && node.sizeBytes < BOOT_INFO_TABLE_END) {
        problems.push({
          field: 'boot.bios.bootInfoTable',
          message: `${node.path} is ${node.sizeBytes} bytes: a boot info table needs at least ${BOOT_INFO_TABLE_END}`,
          details: { path: node.path },
        });
      }
      if (b.grub2BootInfo && node.sizeBytes < GRUB2_BOOT_INFO_OFFSET + 8) {
        problems.push({
          field: 'boot.bios.grub2BootInfo',
          message: `${node.path} is ${node.sizeBytes} bytes: GRUB's boot info goes at byte ${GRUB2_BOOT_INFO_OFFSET}, so it is no GRUB i386-pc-eltorito image`,
          details: { path: node.path },
        });
      }
      bios = { node, loadSectors, bootInfoTable: Boolean(b.bootInfoTable), grub2BootInfo: Boolean(b.grub2BootInfo) };
    }
  }
  if (boot?.efi) {
    const e = boot.efi;
    if ('path' in e) {
      const node = bootFile(e.path, 'boot.efi.path');
      if (node) efi = { node };
    } else if ('appended' in e) {
      const content = e.appended as unknown;
      const source =
        content instanceof Uint8Array || (content && typeof (content as IsoFileSource).read === 'function')
          ? toSource(content as Uint8Array | IsoFileSource)
          : null;
      if (!source || !Number.isSafeInteger(source.sizeBytes) || source.sizeBytes <= 0) {
        problems.push({ field: 'boot.efi.appended', message: 'boot.efi.appended must be a non-empty image (bytes or a source)' });
      } else if (source.sizeBytes > MAX_FILE_BYTES) {
        problems.push({
          field: 'boot.efi.appended',
          message: `the EFI image is ${describeBytes(source.sizeBytes)}; at most 4 GiB − 1 byte is supported`,
          details: { sizeBytes: source.sizeBytes },
        });
      } else efi = { appended: source };
    } else {
      problems.push({ field: 'boot.efi', message: 'boot.efi needs either path (an image in the tree) or appended (an image to append)' });
    }
  }
  if (boot?.hybridMbr) {
    const code = boot.hybridMbr.bootCode as unknown;
    if (!(code instanceof Uint8Array) || code.length < 432) {
      problems.push({
        field: 'boot.hybridMbr.bootCode',
        message: `boot.hybridMbr.bootCode must be GRUB's boot_hybrid.img (at least its first 432 bytes)`,
      });
    }
    if (!boot.bios) problems.push({ field: 'boot.hybridMbr', message: 'a hybrid MBR starts the BIOS boot image: set boot.bios too' });
    if (boot.efi && 'path' in boot.efi) {
      problems.push({
        field: 'boot.efi',
        message:
          'with a hybrid MBR the EFI image must be appended (boot.efi.appended), so it becomes MBR partition 2 and the image boots by UEFI from a USB stick too',
      });
    }
  }

  // --- Names (checked even when the entries or the boot options had problems: all are reported at once) ---
  const isoIdentifiers = new Map<IsoNode, string>();
  const jolietNames = new Map<IsoNode, string>();
  const nameChanges: IsoNameChange[] = [];
  const pathOf = (dir: IsoNode, name: string) => (dir.path === '/' ? `/${name}` : `${dir.path}/${name}`);
  const fieldOf = (node: IsoNode) => (node.entryIndex !== null ? `entries[${node.entryIndex}].path` : `entries (${node.path})`);
  for (const dir of walkTree(root)) {
    if (dir.kind !== 'directory' || dir.children.length === 0) continue;
    const named: NamedEntry[] = dir.children.map((c) => ({ name: c.name, kind: c.kind === 'directory' ? 'directory' : 'file' }));
    const iso = assignIsoIdentifiers(named, opts.level, opts.nameCollisions, (name) => pathOf(dir, name));
    dir.children.forEach((c, i) => isoIdentifiers.set(c, iso.identifiers[i]!));
    for (const change of iso.changes)
      nameChanges.push({
        path: pathOf(dir, change.name),
        tree: 'iso9660',
        used: change.used,
        sharedWith: change.sharedWith && pathOf(dir, change.sharedWith),
      });
    for (const refusal of iso.refusals) {
      const second = dir.children.find((c) => pathOf(dir, c.name) === (refusal.details.names as string[])[1]);
      problems.push({ field: second ? fieldOf(second) : 'entries', message: refusal.message, details: refusal.details });
    }
    if (opts.joliet) {
      const visible = dir.children.filter((c) => c.kind !== 'symlink');
      const joliet = assignJolietNames(
        visible.map((c) => ({ name: c.name, kind: c.kind === 'directory' ? 'directory' : 'file' })),
        opts.jolietLongNames,
        (name) => pathOf(dir, name),
      );
      visible.forEach((c, i) => jolietNames.set(c, jolietIdentifier(joliet.names[i]!, c.kind === 'directory' ? 'directory' : 'file')));
      for (const change of joliet.changes)
        nameChanges.push({
          path: pathOf(dir, change.name),
          tree: 'joliet',
          used: change.used,
          sharedWith: change.sharedWith && pathOf(dir, change.sharedWith),
        });
      for (const refusal of joliet.refusals) {
        const node = dir.children.find((c) => pathOf(dir, c.name) === refusal.details.name);
        problems.push({ field: node ? fieldOf(node) : 'entries', message: refusal.message, details: refusal.details });
      }
    }
  }
  const directoryCount = walkTree(root).filter((n) => n.kind === 'directory').length;
  if (directoryCount > MAX_PATH_TABLE_DIRECTORIES) {
    problems.push({
      field: 'entries',
      message: `the tree has ${directoryCount} folders; an ISO 9660 path table numbers at most ${MAX_PATH_TABLE_DIRECTORIES}`,
      details: { directories: directoryCount },
    });
  }
  if (problems.length > 0) throwProblems(problems);

  // --- Trees ---
  const iso = planTree(
    root,
    (n) => isoIdentifiers.get(n) ?? '',
    asciiBytes,
    () => true,
    opts.rockRidge,
  );
  const joliet = opts.joliet
    ? planTree(
        root,
        (n) => jolietNames.get(n) ?? '',
        encodeUcs2,
        (n) => n.kind !== 'symlink',
        false,
      )
    : null;
  for (const tree of [iso, joliet]) {
    for (const dir of tree?.directories ?? []) {
      for (const record of dir.records) {
        if (record.lengthBytes > MAX_DIRECTORY_RECORD_BYTES)
          throw new LoopbackError('INTERNAL', `a directory record for ${record.node.path} is ${record.lengthBytes} bytes`);
      }
    }
  }

  // --- Blocks ---
  let block = FIRST_VOLUME_DESCRIPTOR_BLOCK;
  const pvdBlock = block++;
  const booting = Boolean(bios || efi);
  const bootRecordBlock = booting ? block++ : null;
  if (bootRecordBlock !== null && bootRecordBlock !== BOOT_RECORD_BLOCK)
    throw new LoopbackError('INTERNAL', 'the boot record must be block 17');
  const svdBlock = joliet ? block++ : null;
  const terminatorBlock = block++;
  for (const tree of [iso, joliet]) {
    if (!tree) continue;
    tree.pathTableLBlock = block;
    block += blocksFor(tree.pathTableSize);
    tree.pathTableMBlock = block;
    block += blocksFor(tree.pathTableSize);
  }
  for (const tree of [iso, joliet]) {
    for (const dir of tree?.directories ?? []) {
      dir.block = block;
      block += dir.sizeBytes / LOGICAL_BLOCK_BYTES;
    }
  }
  // Continuation areas: chunks in record order, each within one block.
  const chunks: Chunk[] = [];
  let areaBlock = 0;
  let areaOffset = 0;
  for (const dir of iso.directories) {
    for (const record of dir.records) {
      for (let chunk = record.continuation; chunk; chunk = chunk.next) {
        if (areaOffset + chunk.lengthBytes > LOGICAL_BLOCK_BYTES) {
          areaBlock++;
          areaOffset = 0;
        }
        chunk.areaBlock = areaBlock;
        chunk.offset = areaOffset;
        areaOffset += chunk.lengthBytes;
        chunks.push(chunk);
      }
    }
  }
  const continuationBlock = block;
  const continuationBlocks = chunks.length > 0 ? areaBlock + 1 : 0;
  block += continuationBlocks;
  const catalogBlock = booting ? block++ : null;

  const fileBlock = new Map<IsoNode, number>();
  const dataFiles: IsoNode[] = [];
  const firstDataBlock = block;
  const files: IsoPlannedFile[] = [];
  for (const node of walkTree(root)) {
    if (node.kind !== 'file') continue;
    if (node === catalogNode) {
      fileBlock.set(node, catalogBlock!);
    } else if (node.sizeBytes > 0) {
      fileBlock.set(node, block);
      dataFiles.push(node);
      block += blocksFor(node.sizeBytes);
    } else {
      fileBlock.set(node, 0);
    }
    files.push({ path: node.path, locationOfExtent: fileBlock.get(node)!, dataLength: node.sizeBytes });
  }
  let appendedPartition: IsoPlan['appendedPartition'] = null;
  if (efi && 'appended' in efi) {
    appendedPartition = { startBlock: block, blocks: blocksFor(efi.appended.sizeBytes) };
    block += appendedPartition.blocks;
  }
  const volumeSpaceSize = block;

  // --- Boot entries and the MBR ---
  let bootPlan: IsoPlan['boot'] = null;
  if (booting) {
    const entriesOut: IsoPlannedBootEntry[] = [];
    if (bios)
      entriesOut.push({
        platform: 'bios',
        path: bios.node.path,
        loadRba: fileBlock.get(bios.node)!,
        sectorCount: bios.loadSectors,
        sizeBytes: bios.node.sizeBytes,
      });
    if (efi) {
      const sizeBytes = 'node' in efi ? efi.node.sizeBytes : efi.appended.sizeBytes;
      const loadRba = 'node' in efi ? fileBlock.get(efi.node)! : appendedPartition!.startBlock;
      // xorriso: the whole image in 512-byte sectors, as far as 16 bits go.
      const sectorCount = Math.min(MAX_SECTOR_COUNT, Math.ceil(sizeBytes / VIRTUAL_SECTOR_BYTES));
      entriesOut.push({ platform: 'efi', path: 'node' in efi ? efi.node.path : null, loadRba, sectorCount, sizeBytes });
    }
    bootPlan = { catalogBlock: catalogBlock!, entries: entriesOut };
  }
  let hybridMbr: MbrSector | null = null;
  if (boot?.hybridMbr && bios) {
    const isoEndSector = (appendedPartition ? appendedPartition.startBlock : volumeSpaceSize) * SECTORS_PER_ISO_BLOCK;
    hybridMbr = hybridMbrSector({
      bootCode: boot.hybridMbr.bootCode,
      bootImageBlock: fileBlock.get(bios.node)!,
      isoEndSector,
      ...(appendedPartition
        ? {
            esp: {
              startSector: appendedPartition.startBlock * SECTORS_PER_ISO_BLOCK,
              sectorCount: appendedPartition.blocks * SECTORS_PER_ISO_BLOCK,
            },
          }
        : {}),
    });
  }
  if (volumeSpaceSize > 0xffffffff)
    throw new LoopbackError('VALIDATION', 'the image would have more than 2^32 blocks', { volumeSpaceSize });

  return {
    sizeBytes: volumeSpaceSize * LOGICAL_BLOCK_BYTES,
    volumeSpaceSize,
    files,
    nameChanges,
    boot: bootPlan,
    appendedPartition,
    hybridMbr,
    internal: {
      options: opts,
      root,
      iso,
      joliet,
      continuationBlock,
      continuationBlocks,
      chunks,
      fileBlock,
      dataFiles,
      firstDataBlock,
      catalogNode,
      pvdBlock,
      bootRecordBlock,
      svdBlock,
      terminatorBlock,
      bios,
      efi,
      catalogBlock,
    },
  };
}
