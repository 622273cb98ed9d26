/**
 * Crafting damaged and hostile images for the tests of issue 13: real tools make a clean FAT
 * (mkfs.fat, mtools) or ext2 (mke2fs, debugfs), then single fields are patched byte by byte — a
 * long name, a first cluster, a name_len — so each image differs from a valid one in exactly
 * the way the test says. The tests then show with the real checkers (fsck.fat, e2fsck, mdir,
 * debugfs) that the image holds what they claim.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToolOk } from './host';

let counter = 0;

/** A FAT image made by mkfs.fat (512-byte clusters), with `folders` made by mmd and `files` (image path → text) by mcopy. */
export function makeFatImage(
  dir: string,
  options: { fat: 12 | 16 | 32; size: string; folders?: string[]; files?: Record<string, string> },
): string {
  const image = join(dir, `fat${options.fat}-${++counter}.img`);
  runToolOk('truncate', ['-s', options.size, image]);
  runToolOk('mkfs.fat', ['-F', String(options.fat), '-s', '1', image]);
  if (options.folders?.length) runToolOk('mmd', ['-i', image, ...options.folders.map((f) => `::${f}`)]);
  for (const [path, text] of Object.entries(options.files ?? {})) {
    const source = join(dir, `source-${++counter}`);
    writeFileSync(source, text);
    runToolOk('mcopy', ['-i', image, source, `::${path}`]);
  }
  return image;
}

/** An ext2 image (1 KiB blocks) made by mke2fs, then changed by the debugfs `commands` (mkdir, write, symlink, link …). */
export function makeExt2Image(dir: string, options: { size: string; commands?: string[]; files?: Record<string, string> }): string {
  const image = join(dir, `ext2-${++counter}.img`);
  runToolOk('truncate', ['-s', options.size, image]);
  runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', image]);
  const commands = [...(options.commands ?? [])];
  for (const [path, text] of Object.entries(options.files ?? {})) {
    const source = join(dir, `source-${++counter}`);
    writeFileSync(source, text);
    commands.push(`write ${source} ${path}`);
  }
  if (commands.length) runToolOk('debugfs', ['-w', '-f', '-', image], { input: `${commands.join('\n')}\n` });
  return image;
}

/** Edits an image file in place. */
export function patchImage(image: string, edit: (bytes: Buffer) => void): void {
  const bytes = readFileSync(image);
  edit(bytes);
  writeFileSync(image, bytes);
}

/** The offset of the one 32-byte FAT short entry named `name` ("TREE", "README.TXT") with attribute `attr` (0x10 folder, 0x20 file). */
export function findShortEntry(bytes: Buffer, name: string, attr: number): number {
  const [base = '', ext = ''] = name.split('.');
  const stored = Buffer.from(base.padEnd(8) + ext.padEnd(3), 'latin1');
  const found: number[] = [];
  for (let at = bytes.indexOf(stored); at >= 0; at = bytes.indexOf(stored, at + 1)) {
    if (at % 32 === 0 && (bytes[at + 11]! & 0x3f) === attr) found.push(at);
  }
  if (found.length !== 1) throw new Error(`short entry ${name}: found ${found.length}`);
  return found[0]!;
}

export function firstCluster(bytes: Buffer, entry: number): number {
  return (bytes.readUInt16LE(entry + 20) << 16) | bytes.readUInt16LE(entry + 26);
}

export function setFirstCluster(bytes: Buffer, entry: number, cluster: number): void {
  bytes.writeUInt16LE(cluster >>> 16, entry + 20);
  bytes.writeUInt16LE(cluster & 0xffff, entry + 26);
}

/** Where each of a long-name entry's 13 UTF-16 characters is (FAT spec: LDIR_Name1, Name2, Name3). */
const LFN_CHARS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

/**
 * Rewrites the long name `from` as `to` in place, character by character, keeping the entries'
 * order, ordinals and checksum: the short entry and the number of long-name entries stay (so
 * `to` needs as many 13-character pieces as `from`). What a crafted image does to smuggle a
 * name such as "../../x" past a reader.
 */
export function patchLongName(bytes: Buffer, from: string, to: string): void {
  const pieces = Math.ceil(from.length / 13);
  if (Math.max(1, Math.ceil(to.length / 13)) !== pieces)
    throw new Error(`"${to}" needs another number of long-name entries than "${from}"`);
  const head = Buffer.from(from.slice(0, 5), 'utf16le');
  let first = -1;
  for (let at = bytes.indexOf(head); at >= 0; at = bytes.indexOf(head, at + 1)) {
    if ((at - 1) % 32 === 0 && bytes[at + 10] === 0x0f && (bytes[at - 1]! & 0x3f) === 1) {
      first = at - 1;
      break;
    }
  }
  if (first < 0) throw new Error(`no long-name entry for "${from}"`);
  for (let ord = 1; ord <= pieces; ord++) {
    const entry = first - (ord - 1) * 32;
    for (let i = 0; i < 13; i++) {
      const index = (ord - 1) * 13 + i;
      const unit = index < to.length ? to.charCodeAt(index) : index === to.length ? 0 : 0xffff;
      bytes.writeUInt16LE(unit, entry + LFN_CHARS[i]!);
    }
  }
}

/** The offset of the ext2 directory record whose name is `name` (its inode field; rec_len at +4, name_len at +6). */
export function findExt2Record(bytes: Buffer, name: string): number {
  const stored = Buffer.from(name, 'utf8');
  const found: number[] = [];
  for (let at = bytes.indexOf(stored); at >= 0; at = bytes.indexOf(stored, at + 1)) {
    const record = at - 8;
    if (record >= 0 && record % 4 === 0 && bytes[record + 6] === stored.length && bytes.readUInt16LE(record + 4) >= 8 + stored.length)
      found.push(record);
  }
  if (found.length !== 1) throw new Error(`ext2 record ${name}: found ${found.length}`);
  return found[0]!;
}

/** Renames an ext2 directory entry in place to `to`, which must have the same length in bytes (so the record stays as it is). */
export function patchExt2Name(bytes: Buffer, from: string, to: string): void {
  const record = findExt2Record(bytes, from);
  const name = Buffer.from(to, 'utf8');
  if (name.length !== Buffer.byteLength(from)) throw new Error('the new name must have as many bytes');
  name.copy(bytes, record + 8);
}
