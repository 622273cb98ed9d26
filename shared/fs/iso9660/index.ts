/**
 * ISO 9660 images in pure TypeScript (issue 16): write one from a tree — Rock Ridge, Joliet,
 * El Torito for BIOS and UEFI, GRUB's hybrid MBR — and read any.
 *
 * ## Writing
 *
 *   const plan = planIso(entries, options);        // pure: checks everything, decides every block
 *   // create a file of plan.sizeBytes (sparse is fine), open it as a BlockDevice, then:
 *   await writeIso(plan, device, { onProgress, signal });
 *
 * - `entries: IsoEntry[]` — by absolute path, in any order (the output does not depend on it):
 *     { type: 'directory', path: '/boot', mode?: 0o755 }
 *     { type: 'file', path: '/boot/kernel', content: Uint8Array | IsoFileSource, mode?: 0o644 }
 *     { type: 'symlink', path: '/vmlinuz', target: 'boot/kernel' }
 *   each with optional `modifiedMs`, `uid`, `gid` (default: the volume's date, 0, 0); `mode`
 *   is the permission bits (a full st_mode of the right type is accepted too). Folders a deeper
 *   path implies are created with 0o755. Limits (all checked): names ≤ 255 UTF-8 bytes, paths
 *   ≤ 4095, link targets ≤ 1023 (what libisofs reads back), files ≤ 4 GiB − 1 byte, ≤ 65535
 *   folders. An `IsoFileSource` is `{ sizeBytes, read(offsetBytes, lengthBytes) }`: the writer
 *   reads it in 1 MiB chunks when it gets to that file, so big files stream from disk and are
 *   never held whole (the size must be known when planning; a short read fails the write, IO).
 * - `options: IsoOptions` — `dateMs` (required: the volume's dates and every entry's default
 *   mtime, so the same input always gives the same bytes), `volumeIdentifier` (default
 *   "ISOIMAGE" as xorriso; ≤ 32 printable ASCII), `level` 1 (8.3 names, the default, as
 *   grub-mkrescue) or 2 (30 characters), `rockRidge` / `joliet` (default on), `nameCollisions`
 *   'rename' (mkisofs's READM000.TXT way, the default) | 'refuse', `jolietLongNames` 'truncate'
 *   (the default, as mkisofs and xorriso; Rock Ridge keeps the whole name) | 'refuse', the other
 *   PVD identifiers, and `boot`:
 *     bios: { path, loadSectors?: 4, bootInfoTable?, grub2BootInfo? }   — xorriso -b … -no-emul-boot
 *           -boot-load-size 4 [-boot-info-table] [--grub2-boot-info]; GRUB's eltorito.img wants both
 *     efi:  { path } (an image in the tree, xorriso -e PATH) or { appended: bytes | source }
 *           (after the filesystem, xorriso -append_partition 2 0xef IMG -e --interval:appended_partition_2:all::)
 *     catalogPath?: '/boot.catalog'  (shown in the tree; hidden when omitted)
 *     hybridMbr?: { bootCode }  — GRUB's boot_hybrid.img: xorriso --grub2-mbr … --protective-msdos-label;
 *           needs bios, and efi (if any) appended, which becomes MBR partition 2 (type 0xEF)
 * - planIso throws one LoopbackError('VALIDATION') listing every problem, each with its field
 *   (`details.problems: IsoProblem[]`, each `{ field, message, details }`), e.g. field
 *   "entries[3].content": "/big.img is 5.00 GiB (5368709120 bytes): an ISO 9660 file holds at
 *   most 4 GiB − 1 byte …"; "entries[7].path": "/A.txt and /a.TXT both map to the ISO 9660 name
 *   "A.TXT;1" (level 1) …" (with nameCollisions 'refuse'); "boot.bios.path": "boot.bios.path:
 *   /boot/grub/i386-pc/eltorito.img is not in the image's tree …". Planning reads no file data,
 *   and nothing is written before a plan exists.
 * - The plan tells what will be written: `sizeBytes`, `files` (path, block, length),
 *   `nameChanges` (what mkisofs prints as "Using READM000.TXT;1 for /readme.TXT", and Joliet
 *   names cut to 64 characters), `boot` (catalog block, entries with block and sector count),
 *   `appendedPartition`, `hybridMbr` (the MBR's fields).
 * - Files over 4 GiB − 1 byte are refused (no multi-extent writing); folders are not relocated
 *   (deep trees are recorded as they are, as xorriso does, beyond ECMA-119's 8 levels).
 *
 * ## Reading
 *
 *   const iso = await openIso9660(device);   // names: Rock Ridge, else Joliet, else ISO 9660
 *   await iso.info();          // IsoVolumeInfo: identifiers, size, dates, extensions, El Torito entries (with paths), MBR partitions
 *   await iso.list('/boot');   // DirEntry[] (shared/fs/types.ts): name, type, sizeBytes, modifiedMs, mode, target
 *   await iso.stat(path); await iso.readFile(path); await iso.read(path, offset, length); await iso.extents(path); await iso.walk()
 *   detectIso9660(bytesAtOffset32768)      // true for an ISO 9660 volume descriptor at block 16
 *
 * ## Pieces
 *
 * One module per structure, each with its byte offsets named as in its standard and a
 * parse/encode pair: numbers.ts and dates.ts (ECMA-119 7, 9.1.5, 8.4.26.1), volume-descriptor.ts
 * (8.3–8.5), directory-record.ts (9.1), path-table.ts (9.4), susp.ts (SUSP 1.12: SP, CE, ER),
 * rock-ridge.ts (RRIP 1.10: PX, NM, SL, TF, CL/PL/RE), joliet.ts, names.ts (level 1/2 and Joliet
 * names, mkisofs-style uniqueness, ECMA-119 9.3 order), el-torito.ts (boot record, catalog,
 * boot info table); GRUB's pieces (--grub2-boot-info, the hybrid MBR) are in
 * shared/boot/grub2-iso.ts.
 */
export { planIso, DEFAULT_VOLUME_IDENTIFIER, DEFAULT_LOAD_SECTORS, MAX_PATCHED_BOOT_IMAGE_BYTES } from './plan';
export type {
  IsoOptions,
  IsoBootOptions,
  IsoBiosBoot,
  IsoEfiBoot,
  IsoPlan,
  IsoNameChange,
  IsoPlannedFile,
  IsoPlannedBootEntry,
} from './plan';
export { writeIso, encodeMetadata, bootCatalogBytes, READ_CHUNK_BYTES } from './write';
export type { IsoSink } from './write';
export { bytesSource, MAX_FILE_BYTES, MAX_PATH_BYTES, MAX_SYMLINK_TARGET_BYTES } from './tree';
export type { IsoEntry, IsoDirectoryEntry, IsoFileEntry, IsoSymlinkEntry, IsoFileSource, IsoProblem } from './tree';
export { openIso9660, detectIso9660, Iso9660Volume, ISO9660_DETECT_OFFSET_BYTES } from './read';
export type { IsoVolumeInfo, IsoBootEntryInfo, IsoPartitionInfo, IsoNames } from './read';
export { LOGICAL_BLOCK_BYTES } from './volume-descriptor';
export type { IsoLevel } from './names';
