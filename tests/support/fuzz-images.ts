/**
 * Fuzzing the image readers through the CLI (issue 13, "Done when"): small images built once
 * with the real tools — an MBR disk with a primary, an extended and two logical partitions
 * (FAT12, ext2, FAT32), a GPT disk (FAT16, ext2) and a superfloppy (FAT12) — whose on-disk
 * structures (MBR, EBRs, GPT headers and entries, boot sectors and BPBs, FSInfo, FATs, root and
 * sub folders, ext2 superblock, group descriptors, inodes, directory blocks) are mutated a few
 * bytes at a time; then `info`, `ls` and `get` run on each mutant, and what must hold is
 * checked (checkCase). Used by tests/fuzz-images.test.ts (bounded, in CI) and
 * scripts/fuzz-images-nightly.mjs (long).
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { MemoryBlockDevice, SubBlockDevice } from '../../shared/disk/block-device';
import { openFat } from '../../shared/fs/fat/volume';
import { describeDisk } from '../../shared/disk/disk-info';
import type { CliWorker, WorkerRun } from './cli-worker';
import { runToolOk } from './host';

export interface FuzzVolume {
  /** `-p N`, or none for a superfloppy. */
  partition?: number;
  fs: 'fat' | 'ext2';
}

/** A structure of an image: a byte range a mutation stays in, and the volume it belongs to (none: the table). */
export interface Region {
  name: string;
  offset: number;
  length: number;
  volume: number | null;
  /** GPT: recompute the header and entry CRCs after mutating, so the mutation reaches the parser. */
  gpt?: boolean;
}

export interface FuzzImage {
  name: string;
  bytes: Buffer;
  volumes: FuzzVolume[];
  regions: Region[];
}

export type Mutation =
  | { op: 'byte'; at: number; value: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'u16' | 'u32'; at: number; value: number }
  | { op: 'zero'; at: number; length: number }
  | { op: 'copy'; from: number; at: number; length: number };

export interface FuzzCase {
  image: number;
  region: number;
  mutations: Mutation[];
  /** The volume the commands look at, for a mutation of the table. */
  volume: number;
  fixCrc: boolean;
}

const SECTOR = 512;
const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 0x0c, 0x10, 0x1f, 0x20, 0x2e, 0x2f, 0x3f, 0x40, 0x5c, 0x7f, 0x80, 0xe5, 0xfe, 0xff];
const INTERESTING_WIDE = [
  0, 1, 2, 0x7fff, 0x8000, 0xfff7, 0xfff8, 0xffff, 0x0ffffff7, 0x0ffffff8, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 4096, 65536,
];

function writeFile(dir: string, name: string, data: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

const FAT_FOLDERS = ['/sub', '/sub/deeper', '/Long Folder Name'];
const FAT_FILES: Array<[string, string | Buffer]> = [
  ['/readme.txt', 'hello\n'],
  ['/A long file name.txt', 'long names\n'],
  ['/sub/data.bin', Buffer.from(Array.from({ length: 6000 }, (_, i) => (i * 7) & 0xff))],
  ['/sub/deeper/x', 'x\n'],
  ['/Long Folder Name/y.txt', 'y\n'],
];

/** Fills a FAT volume (at `offsetBytes` of `image`) with mtools: folders, long names, a multi-cluster file. */
function fillFat(dir: string, image: string, offsetBytes: number): void {
  const at = offsetBytes === 0 ? image : `${image}@@${offsetBytes}`;
  runToolOk('mmd', ['-i', at, ...FAT_FOLDERS.map((f) => `::${f}`)]);
  for (const [path, data] of FAT_FILES) runToolOk('mcopy', ['-i', at, writeFile(dir, 'fuzz-src', data), `::${path}`]);
}

/** The same with our own writer: for a FAT32 smaller than mtools reads as FAT32 (under 65525 clusters). */
async function fillFatOurs(bytes: Buffer, offsetBytes: number, sizeBytes: number): Promise<void> {
  const fs = await openFat(new SubBlockDevice(new MemoryBlockDevice(bytes), offsetBytes, sizeBytes));
  for (const folder of FAT_FOLDERS) await fs.mkdir(folder);
  for (const [path, data] of FAT_FILES) await fs.writeFile(path, typeof data === 'string' ? new TextEncoder().encode(data) : data);
  await fs.flush();
}

/** An ext2 of `sizeKiB` (1 KiB blocks) with folders, a symlink, a hard link and a file with indirect blocks, as bytes. */
function ext2Bytes(dir: string, sizeKiB: number): Buffer {
  const image = join(dir, 'fuzz-ext2.img');
  rmSync(image, { force: true });
  runToolOk('truncate', ['-s', `${sizeKiB}K`, image]);
  runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', '-N', '64', image]);
  const big = writeFile(dir, 'fuzz-big', Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 13) & 0xff)));
  const small = writeFile(dir, 'fuzz-small', 'hello\n');
  const commands = [
    'mkdir sub',
    'mkdir sub/deeper',
    `write ${small} readme.txt`,
    `write ${big} sub/big.bin`,
    `write ${small} sub/deeper/x`,
    'symlink link sub/big.bin',
    'symlink sub/up ../readme.txt',
    'ln readme.txt sub/hard',
  ];
  runToolOk('debugfs', ['-w', '-f', '-', image], { input: `${commands.join('\n')}\n` });
  return readFileSync(image);
}

/** The structures of a FAT volume at `base` of `bytes`. */
function fatRegions(bytes: Buffer, base: number, volume: number, label: string): Region[] {
  const bps = bytes.readUInt16LE(base + 11);
  const spc = bytes[base + 13]!;
  const reserved = bytes.readUInt16LE(base + 14);
  const fats = bytes[base + 16]!;
  const rootEntries = bytes.readUInt16LE(base + 17);
  const fatSize = bytes.readUInt16LE(base + 22) || bytes.readUInt32LE(base + 36);
  const fat32 = bytes.readUInt16LE(base + 22) === 0;
  const firstData = reserved + fats * fatSize + Math.ceil((rootEntries * 32) / bps);
  const cluster = (n: number) => base + (firstData + (n - 2) * spc) * bps;
  const regions: Region[] = [
    { name: `${label} boot sector / BPB`, offset: base, length: 90, volume },
    { name: `${label} FAT`, offset: base + reserved * bps, length: 2 * bps, volume },
  ];
  let root: number;
  if (fat32) {
    root = cluster(bytes.readUInt32LE(base + 44));
    regions.push({ name: `${label} FSInfo`, offset: base + bytes.readUInt16LE(base + 48) * bps, length: bps, volume });
  } else {
    root = base + (reserved + fats * fatSize) * bps;
  }
  regions.push({ name: `${label} root folder`, offset: root, length: 4 * 32 * 4, volume });
  for (let at = root; at < root + 16 * 32; at += 32) {
    if (bytes.subarray(at, at + 11).toString('latin1') === 'SUB        ') {
      const sub = cluster((bytes.readUInt16LE(at + 20) << 16) | bytes.readUInt16LE(at + 26));
      regions.push({ name: `${label} /sub folder`, offset: sub, length: spc * bps, volume });
    }
  }
  return regions;
}

/** The structures of an ext2 (1 KiB blocks) at `base`. */
function ext2Regions(bytes: Buffer, base: number, volume: number, label: string): Region[] {
  const B = 1024 << bytes.readUInt32LE(base + 1024 + 24);
  const inodeSize = bytes.readUInt16LE(base + 1024 + 88);
  const gdt = base + 2 * B;
  const inodeTable = base + bytes.readUInt32LE(gdt + 8) * B;
  const rootInode = inodeTable + inodeSize; // inode 2
  const rootBlock = base + bytes.readUInt32LE(rootInode + 40) * B;
  const regions: Region[] = [
    { name: `${label} superblock`, offset: base + 1024, length: 264, volume },
    { name: `${label} group descriptors`, offset: gdt, length: 32, volume },
    { name: `${label} block bitmap`, offset: base + bytes.readUInt32LE(gdt) * B, length: 64, volume },
    { name: `${label} inodes 1-16`, offset: inodeTable, length: 16 * inodeSize, volume },
    { name: `${label} root folder block`, offset: rootBlock, length: B, volume },
  ];
  // /sub: the record named "sub" in the root folder.
  const at = bytes.indexOf(Buffer.from('sub'), rootBlock);
  if (at > 0 && at < rootBlock + B) {
    const ino = bytes.readUInt32LE(at - 8);
    const inode = inodeTable + (ino - 1) * inodeSize;
    regions.push({ name: `${label} /sub folder block`, offset: base + bytes.readUInt32LE(inode + 40) * B, length: B, volume });
    regions.push({ name: `${label} indirect blocks`, offset: inodeTable + 10 * inodeSize, length: 6 * inodeSize, volume });
  }
  return regions;
}

/** Each partition's first sector and, for a logical one, its EBR's, as our reader finds them (the base images must read cleanly). */
async function layoutOf(bytes: Buffer): Promise<Map<number, { start: number; sectors: number; ebr?: number }>> {
  const disk = await describeDisk(new MemoryBlockDevice(new Uint8Array(bytes)));
  return new Map(
    disk.partitions.map((p) => [
      p.index,
      { start: p.startSector, sectors: p.sectorCount, ...(p.ebrSector !== undefined ? { ebr: p.ebrSector } : {}) },
    ]),
  );
}

/** Builds the images (a second or two with the real tools); call once per run. */
export async function buildFuzzImages(dir: string): Promise<FuzzImage[]> {
  mkdirSync(dir, { recursive: true });
  const images: FuzzImage[] = [];

  // MBR: 1 FAT12 (primary), 2 extended, 5 ext2 (logical), 6 FAT32 (logical, a small one).
  const mbr = join(dir, 'fuzz-mbr.img');
  // Small (4.5 MiB, 1 MiB volumes, the logical partitions packed): each mutant is written and read back whole.
  runToolOk('truncate', ['-s', '4608K', mbr]);
  runToolOk('sfdisk', ['-q', mbr], {
    input: 'start=2048, size=2048, type=1\nstart=4096, type=5\nstart=4160, size=2048, type=83\nstart=6272, size=2048, type=b\n',
  });
  runToolOk('mkfs.fat', ['-F', '12', '-s', '1', '--offset', '2048', mbr, '1024']);
  runToolOk('mkfs.fat', ['-F', '32', '-s', '1', '--offset', '6272', mbr, '1024']);
  fillFat(dir, mbr, 2048 * SECTOR);
  const mbrBytes = readFileSync(mbr);
  await fillFatOurs(mbrBytes, 6272 * SECTOR, 2048 * SECTOR);
  ext2Bytes(dir, 1024).copy(mbrBytes, 4160 * SECTOR);
  const ebrs = await layoutOf(mbrBytes);
  images.push({
    name: 'mbr',
    bytes: mbrBytes,
    volumes: [
      { partition: 1, fs: 'fat' },
      { partition: 5, fs: 'ext2' },
      { partition: 6, fs: 'fat' },
    ],
    regions: [
      { name: 'MBR', offset: 0, length: SECTOR, volume: null },
      { name: 'MBR entries', offset: 446, length: 66, volume: null },
      { name: 'EBR of 5', offset: ebrs.get(5)!.ebr! * SECTOR + 446, length: 66, volume: null },
      { name: 'EBR of 6', offset: ebrs.get(6)!.ebr! * SECTOR + 446, length: 66, volume: null },
      ...fatRegions(mbrBytes, 2048 * SECTOR, 0, 'p1 FAT12'),
      ...ext2Regions(mbrBytes, 4160 * SECTOR, 1, 'p5 ext2'),
      ...fatRegions(mbrBytes, 6272 * SECTOR, 2, 'p6 FAT32'),
    ],
  });

  // GPT: 1 FAT16, 2 ext2.
  const gpt = join(dir, 'fuzz-gpt.img');
  runToolOk('truncate', ['-s', '4M', gpt]);
  runToolOk('sfdisk', ['-q', gpt], {
    input:
      'label: gpt\nstart=2048, size=5120, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\nstart=7168, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n',
  });
  runToolOk('mkfs.fat', ['-F', '16', '-s', '1', '--offset', '2048', gpt, '2560']);
  fillFat(dir, gpt, 2048 * SECTOR);
  const gptBytes = readFileSync(gpt);
  const lastLba = gptBytes.length / SECTOR - 1;
  const p2 = (await layoutOf(gptBytes)).get(2)!;
  const firstLba2 = p2.start;
  ext2Bytes(dir, Math.floor((p2.sectors * SECTOR) / 1024)).copy(gptBytes, firstLba2 * SECTOR);
  images.push({
    name: 'gpt',
    bytes: gptBytes,
    volumes: [
      { partition: 1, fs: 'fat' },
      { partition: 2, fs: 'ext2' },
    ],
    regions: [
      { name: 'protective MBR', offset: 446, length: 66, volume: null },
      { name: 'GPT header', offset: SECTOR, length: 92, volume: null, gpt: true },
      { name: 'GPT entries', offset: 2 * SECTOR, length: 256, volume: null, gpt: true },
      { name: 'backup GPT header', offset: lastLba * SECTOR, length: 92, volume: null },
      ...fatRegions(gptBytes, 2048 * SECTOR, 0, 'p1 FAT16'),
      ...ext2Regions(gptBytes, firstLba2 * SECTOR, 1, 'p2 ext2'),
    ],
  });

  // A 720 KiB superfloppy: FAT12 on the whole image.
  const floppy = join(dir, 'fuzz-floppy.img');
  runToolOk('truncate', ['-s', '720K', floppy]);
  runToolOk('mkfs.fat', ['-F', '12', floppy]);
  fillFat(dir, floppy, 0);
  const floppyBytes = readFileSync(floppy);
  images.push({ name: 'floppy', bytes: floppyBytes, volumes: [{ fs: 'fat' }], regions: fatRegions(floppyBytes, 0, 0, 'FAT12 floppy') });
  return images;
}

/** Applies `mutations` (offsets relative to the region) to a copy of the image. */
export function mutate(image: FuzzImage, c: FuzzCase): Buffer {
  const bytes = Buffer.from(image.bytes);
  const region = image.regions[c.region]!;
  const base = region.offset;
  const end = region.offset + region.length;
  for (const m of c.mutations) {
    const at = base + m.at;
    if (m.op === 'byte') bytes[at] = m.value;
    else if (m.op === 'flip') bytes[at] = bytes[at]! ^ (1 << m.bit);
    else if (m.op === 'u16' && at + 2 <= end) bytes.writeUInt16LE(m.value & 0xffff, at);
    else if (m.op === 'u32' && at + 4 <= end) bytes.writeUInt32LE(m.value >>> 0, at);
    else if (m.op === 'zero') bytes.fill(0, at, Math.min(end, at + m.length));
    else if (m.op === 'copy') bytes.copy(bytes, at, base + m.from, Math.min(base + m.from + m.length, base + m.from + (end - at)));
  }
  if (region.gpt && c.fixCrc) {
    // Entries CRC over numberOfPartitionEntries × sizeOfPartitionEntry at the entry LBA, then the header's own.
    const header = SECTOR;
    const entries = Number(bytes.readBigUInt64LE(header + 72));
    const count = bytes.readUInt32LE(header + 80);
    const size = bytes.readUInt32LE(header + 84);
    const arrayBytes = count * size;
    if (entries * SECTOR + arrayBytes <= bytes.length && arrayBytes > 0 && arrayBytes <= 1024 * 1024) {
      bytes.writeUInt32LE(crc32(bytes.subarray(entries * SECTOR, entries * SECTOR + arrayBytes)), header + 88);
    }
    const headerSize = bytes.readUInt32LE(header + 12);
    if (headerSize >= 92 && headerSize <= SECTOR) {
      bytes.writeUInt32LE(0, header + 16);
      bytes.writeUInt32LE(crc32(bytes.subarray(header, header + headerSize)), header + 16);
    }
  }
  return bytes;
}

/** Random cases over `images`: a region, one to four mutations inside it, the volume to look at. */
export function caseArbitrary(images: readonly FuzzImage[]): fc.Arbitrary<FuzzCase> {
  return fc.integer({ min: 0, max: images.length - 1 }).chain((image) =>
    fc.integer({ min: 0, max: images[image]!.regions.length - 1 }).chain((region) => {
      const length = images[image]!.regions[region]!.length;
      const at = fc.integer({ min: 0, max: length - 1 });
      const mutation: fc.Arbitrary<Mutation> = fc.oneof(
        fc.record({
          op: fc.constant('byte' as const),
          at,
          value: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })),
        }),
        fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({
          op: fc.constantFrom('u16' as const, 'u32' as const),
          at: at.map((n) => n & ~1),
          value: fc.oneof(fc.constantFrom(...INTERESTING_WIDE), fc.integer({ min: 0, max: 0xffffffff })),
        }),
        fc.record({ op: fc.constant('zero' as const), at, length: fc.integer({ min: 1, max: 32 }) }),
        fc.record({ op: fc.constant('copy' as const), from: at, at, length: fc.integer({ min: 1, max: 32 }) }),
      );
      return fc.record({
        image: fc.constant(image),
        region: fc.constant(region),
        mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
        volume: fc.integer({ min: 0, max: images[image]!.volumes.length - 1 }),
        fixCrc: fc.boolean(),
      });
    }),
  );
}

/** Everything below `root` but OUT and the folders leading to it (links not followed). */
function strays(root: string, out: string): string[] {
  const leading = new Set<string>();
  for (let at = dirname(out); at !== root && at.startsWith(root); at = dirname(at)) leading.add(at);
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (path === out) continue;
      if (!leading.has(path)) found.push(relative(root, path));
      if (lstatSync(path).isDirectory()) walk(path);
    }
  };
  walk(root);
  return found;
}

/** Error codes a command's JSON output (or an `info` volume) carries. */
function codesOf(run: WorkerRun): string[] {
  if (run.timedOut) return [];
  let value: { error?: { code?: string }; partitions?: Array<{ error?: { code?: string } }>; filesystemError?: { code?: string } };
  try {
    value = JSON.parse(run.stdout) as typeof value;
  } catch {
    return ['UNPARSABLE'];
  }
  return [value.error?.code, value.filesystemError?.code, ...(value.partitions ?? []).map((p) => p.error?.code)].filter(
    (c): c is string => c !== undefined,
  );
}

export interface CaseOutcome {
  problems: string[];
  /** Commands run, and how many failed (a clean refusal, exit 1 or 2). */
  commands: number;
  refused: number;
  /** The slowest command, for the report. */
  slowest: { argv: string; ms: number };
}

/**
 * Runs info, ls /, ls /sub and get / on the mutant (written to `imagePath`, OUT inside
 * `sandbox`) and checks: each command ends within `timeoutMs`, exits 0, 1 or 2 with JSON, no
 * INTERNAL error anywhere, the image unchanged, nothing in the sandbox outside OUT.
 */
export async function checkCase(
  worker: CliWorker,
  images: readonly FuzzImage[],
  c: FuzzCase,
  work: string,
  timeoutMs: number,
): Promise<CaseOutcome> {
  const image = images[c.image]!;
  const region = image.regions[c.region]!;
  const volume = image.volumes[region.volume ?? c.volume]!;
  const bytes = mutate(image, c);
  const imagePath = join(work, 'mutant.img');
  const sandbox = join(work, 'sandbox');
  const out = join(sandbox, 'a', 'b', 'c', 'out');
  rmSync(sandbox, { recursive: true, force: true });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(imagePath, bytes);
  const p = volume.partition === undefined ? [] : ['-p', String(volume.partition)];
  const commands = [
    ['info', imagePath],
    ['ls', imagePath, ...p, '/'],
    ['ls', imagePath, ...p, '/sub'],
    ['get', imagePath, ...p, '/', out],
  ];
  const problems: string[] = [];
  let refused = 0;
  let slowest = { argv: '', ms: 0 };
  for (const argv of commands) {
    const started = performance.now();
    const run = await worker.run([...argv, '--json'], timeoutMs);
    const ms = performance.now() - started;
    if (ms > slowest.ms) slowest = { argv: argv[0]!, ms };
    const what = `loopstudio ${argv[0]}`;
    if (run.timedOut) problems.push(`${what}: no answer within ${timeoutMs} ms (a hang)`);
    else if (![0, 1, 2].includes(run.code)) problems.push(`${what}: exit ${run.code}: ${run.stderr.slice(0, 500)}`);
    else {
      if (run.code !== 0) refused++;
      const codes = codesOf(run);
      if (codes.includes('UNPARSABLE'))
        problems.push(`${what}: output is not JSON: ${run.stdout.slice(0, 300)} ${run.stderr.slice(0, 300)}`);
      if (codes.includes('INTERNAL')) problems.push(`${what}: INTERNAL: ${run.stdout.slice(0, 600)}`);
    }
    if (run.timedOut) break;
  }
  const stray = strays(sandbox, out);
  if (stray.length) problems.push(`wrote outside OUT: ${stray.slice(0, 5).join(', ')}`);
  // Byte for byte (stronger than comparing hashes, and faster): every command only reads.
  if (!readFileSync(imagePath).equals(bytes)) problems.push('the image changed');
  rmSync(sandbox, { recursive: true, force: true });
  return { problems, commands: commands.length, refused, slowest };
}

/** One line that says how to reproduce a case. */
export function describeCase(images: readonly FuzzImage[], c: FuzzCase): string {
  const image = images[c.image]!;
  return `${image.name}: ${image.regions[c.region]!.name}${c.fixCrc && image.regions[c.region]!.gpt ? ' (CRCs fixed)' : ''}, volume ${c.volume}: ${JSON.stringify(c.mutations)}`;
}
