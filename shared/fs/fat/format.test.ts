import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { SubBlockDevice } from '../../disk/block-device';
import { FLOPPY_PRESETS, type FloppyPresetName } from '../../disk/geometry';
import { LoopbackError } from '../../errors';
import * as BS from './boot-sector';
import { formatFat, openFat, planFatFormat, type FatFormatOptions } from './index';
import { fsck, mtoolsImage } from './test-support';

const skip = missingTools('mkfs.fat', 'fsck.fat', 'minfo', 'mdir', 'sfdisk', 'truncate');
const tmp = tempDir('fat-format-');
afterAll(() => tmp.cleanup());
let counter = 0;

function sparseImage(size: string | number): string {
  const image = join(tmp.dir, `img-${++counter}.img`);
  runToolOk('truncate', ['-s', String(size), image]);
  return image;
}

async function formatImage(image: string, options: FatFormatOptions = {}) {
  const device = await FileBlockDevice.open(image, { writable: true });
  try {
    return await formatFat(device, options);
  } finally {
    await device.close();
  }
}

function sha256(image: string): string {
  return createHash('sha256').update(readFileSync(image)).digest('hex');
}

/** The first `length` bytes of a file (without reading a multi-gigabyte sparse image whole). */
function readHead(image: string, length = 512): Uint8Array {
  const fd = openSync(image, 'r');
  try {
    const bytes = new Uint8Array(length);
    readSync(fd, bytes, 0, length, 0);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Formats through a device that counts writes, to show a refusal wrote nothing at all. */
async function formatCountingWrites(image: string, options: FatFormatOptions): Promise<{ error: unknown; writes: number }> {
  const device = await FileBlockDevice.open(image, { writable: true });
  let writes = 0;
  const counting = {
    sizeBytes: device.sizeBytes,
    read: (offset: number, length: number) => device.read(offset, length),
    write: (offset: number, data: Uint8Array) => {
      writes++;
      return device.write(offset, data);
    },
    flush: () => device.flush(),
  };
  try {
    await formatFat(counting, options);
    return { error: null, writes };
  } catch (error) {
    return { error, writes };
  } finally {
    await device.close();
  }
}

function expectFsckClean(image: string): void {
  const report = fsck(runTool, image);
  expect(report.problems, report.output).toEqual([]);
  expect(report.status, report.output).toBe(0);
}

/** Byte ranges of the BPB (offsets 11..61 of a FAT12/16 boot sector) named as in the spec. */
const FAT16_BPB_FIELDS: Array<[string, number, number]> = [
  ['BPB_BytsPerSec', BS.BPB_BYTSPERSEC, 2],
  ['BPB_SecPerClus', BS.BPB_SECPERCLUS, 1],
  ['BPB_RsvdSecCnt', BS.BPB_RSVDSECCNT, 2],
  ['BPB_NumFATs', BS.BPB_NUMFATS, 1],
  ['BPB_RootEntCnt', BS.BPB_ROOTENTCNT, 2],
  ['BPB_TotSec16', BS.BPB_TOTSEC16, 2],
  ['BPB_Media', BS.BPB_MEDIA, 1],
  ['BPB_FATSz16', BS.BPB_FATSZ16, 2],
  ['BPB_SecPerTrk', BS.BPB_SECPERTRK, 2],
  ['BPB_NumHeads', BS.BPB_NUMHEADS, 2],
  ['BPB_HiddSec', BS.BPB_HIDDSEC, 4],
  ['BPB_TotSec32', BS.BPB_TOTSEC32, 4],
  ['BS_DrvNum', BS.FAT16_BS_DRVNUM, 1],
  ['BS_Reserved1', BS.FAT16_BS_RESERVED1, 1],
  ['BS_BootSig', BS.FAT16_BS_BOOTSIG, 1],
  ['BS_FilSysType', BS.FAT16_BS_FILSYSTYPE, 8],
];

/** Field name → hex bytes, for a readable diff. */
function bpbFields(sector: Uint8Array): Record<string, string> {
  return Object.fromEntries(FAT16_BPB_FIELDS.map(([name, at, n]) => [name, Buffer.from(sector.subarray(at, at + n)).toString('hex')]));
}

describe.skipIf(skip)('formatFat: floppies', () => {
  const presets: FloppyPresetName[] = ['360K', '720K', '1.2M', '1.44M', '2.88M'];
  for (const name of presets) {
    it(`${name}: the BPB equals mkfs.fat -C's field by field (except serial, label, OEM name), minfo and fsck.fat accept it`, async () => {
      const preset = FLOPPY_PRESETS[name];
      const ours = sparseImage(preset.sizeBytes);
      await formatImage(ours, { label: 'boot disk' });
      const theirs = join(tmp.dir, `mkfs-${name}.img`);
      runToolOk('mkfs.fat', ['-C', theirs, String(preset.sizeBytes / 1024)]);
      const expected = bpbFields(readFileSync(theirs).subarray(0, 512));
      if (name === '2.88M') {
        // The one documented difference (shared/disk/geometry.ts): DOS's 240 root entries, mkfs.fat's 224.
        expect(expected.BPB_RootEntCnt).toBe('e000');
        expected.BPB_RootEntCnt = 'f000';
      }
      const sector = readFileSync(ours).subarray(0, 512);
      expect(bpbFields(sector)).toEqual(expected);
      expect(sector[510]).toBe(0x55);
      expect(sector[511]).toBe(0xaa);
      const info = runToolOk('minfo', ['-i', ours]).stdout;
      expect(info).toContain(`sectors per track: ${preset.geometry.sectorsPerTrack}`);
      expect(info).toContain(`media descriptor byte: 0x${preset.mediaDescriptor.toString(16)}`);
      expect(info).toContain(`max available root directory slots: ${preset.rootDirEntries}`);
      expect(runToolOk('mdir', ['-i', ours, '::/']).stdout).toContain('Volume in drive : is BOOT DISK');
      expectFsckClean(ours);
    });
  }

  it('1.44M: the same BPB bytes 11..61 as mkfs.fat apart from BS_VolID and BS_VolLab', async () => {
    const ours = sparseImage(1474560);
    await formatImage(ours);
    const theirs = join(tmp.dir, 'mkfs-raw-1440.img');
    runToolOk('mkfs.fat', ['-C', theirs, '1440']);
    const a = readFileSync(ours).subarray(11, 62);
    const b = readFileSync(theirs).subarray(11, 62);
    const differing = [...a.keys()].filter((i) => a[i] !== b[i]).map((i) => i + 11);
    const serialAndLabel = (offset: number) => offset >= BS.FAT16_BS_VOLID && offset < BS.FAT16_BS_VOLLAB + 11;
    expect(differing.filter((offset) => !serialAndLabel(offset))).toEqual([]);
  });
});

describe.skipIf(skip)('formatFat: hard-disk volumes', () => {
  // Sizes away from the type boundaries, where the choice does not depend on alignment padding
  // (mkfs.fat pads the reserved area to align the data; we keep 1 or 32 reserved sectors).
  const sizes = ['1M', '4M', '8M', '16M', '64M', '200M', '300M', '600M', '9G', '17G'];
  for (const size of sizes) {
    it(`${size}: same FAT type and cluster size as mkfs.fat's defaults; fsck.fat and mtools accept it`, async () => {
      const ours = sparseImage(size);
      const result = await formatImage(ours, { label: 'LOOPBACK' });
      const theirs = sparseImage(size);
      runToolOk('mkfs.fat', [theirs]);
      const mkfs = BS.parseBootSector(readHead(theirs));
      expect(result.type).toBe(mkfs.BS_FilSysType.trim().toLowerCase());
      expect(result.clusterBytes).toBe(mkfs.BPB_SecPerClus * mkfs.BPB_BytsPerSec);
      const sector = BS.parseBootSector(readHead(ours));
      expect(sector.BPB_Media).toBe(0xf8);
      expect([sector.BPB_NumHeads, sector.BPB_SecPerTrk]).toEqual([255, 63]);
      expect(sector.BPB_RsvdSecCnt).toBe(result.type === 'fat32' ? 32 : 1);
      expect(sector.BPB_RootEntCnt).toBe(result.type === 'fat32' ? 0 : 512);
      expectFsckClean(ours);
      expect(runToolOk('mdir', ['-i', ours, '::/']).stdout).toContain('Volume in drive : is LOOPBACK');
    });
  }

  it('FAT32: FSInfo at sector 1, backup boot sector at 6 and its FSInfo at 7, root in cluster 2; mtools agrees on the free space', async () => {
    const image = sparseImage('64M');
    const result = await formatImage(image, { type: 'fat32', volumeId: 0x1234abcd });
    const bytes = readFileSync(image);
    expect(bytes.subarray(6 * 512, 7 * 512)).toEqual(bytes.subarray(0, 512));
    expect(bytes.subarray(7 * 512, 8 * 512)).toEqual(bytes.subarray(512, 1024));
    expect(bytes.readUInt32LE(512)).toBe(0x41615252); // FSI_LeadSig
    expect(bytes.readUInt32LE(512 + 488)).toBe(result.clusterCount - 1); // FSI_Free_Count: all but the root's cluster
    expect(bytes.readUInt32LE(BS.BPB_ROOTCLUS)).toBe(2);
    expect(result.volumeId).toBe('1234-ABCD');
    expect(runToolOk('mdir', ['-i', image, '::/']).stdout).toContain('Volume Serial Number is 1234-ABCD');
    const free = /([\d ]+) bytes free/.exec(runToolOk('mdir', ['-i', image, '::/']).stdout);
    expect(Number(free?.[1]?.replace(/ /g, ''))).toBe((result.clusterCount - 1) * result.clusterBytes);
    expectFsckClean(image);
  });

  it('FAT16 and FAT32 in a partition at sector 2048 of an sfdisk-made disk: hidden sectors = 2048, mtools finds it at @@1M', async () => {
    const partitionSectors = 38 * 2048; // 38 MiB: enough clusters for FAT32 with 512-byte clusters
    for (const type of ['fat16', 'fat32'] as const) {
      const image = sparseImage('40M');
      runToolOk('sfdisk', ['-q', image], { input: `start=2048, size=${partitionSectors}, type=c\n` });
      const tableBefore = readHead(image);
      const disk = await FileBlockDevice.open(image, { writable: true });
      const partition = new SubBlockDevice(disk, 2048 * 512, partitionSectors * 512);
      await formatFat(partition, { type, hiddenSectors: 2048, label: 'PART1' });
      await disk.close();
      expect(readHead(image)).toEqual(tableBefore);
      const info = runToolOk('minfo', ['-i', mtoolsImage(image, 1024 * 1024)]).stdout;
      expect(info).toContain('hidden sectors: 2048');
      expect(info).toContain('heads: 255');
      expect(runToolOk('mdir', ['-i', mtoolsImage(image, 1024 * 1024), '::/']).stdout).toContain('is PART1');
      // fsck.fat has no offset option: check a copy of the partition.
      const copy = join(tmp.dir, `partition-${type}.img`);
      writeFileSync(copy, readFileSync(image).subarray(2048 * 512, (2048 + partitionSectors) * 512));
      expectFsckClean(copy);
      expect(runToolOk('sfdisk', ['--verify', image]).status).toBe(0);
    }
  });

  it('writes only metadata: a 4 GiB FAT32 image stays sparse (and formats about as fast as mkfs.fat)', async () => {
    const ours = sparseImage('4G');
    const t0 = performance.now();
    const result = await formatImage(ours);
    const oursMs = performance.now() - t0;
    const theirs = sparseImage('4G');
    const t1 = performance.now();
    runToolOk('mkfs.fat', ['-F', '32', theirs]);
    const mkfsMs = performance.now() - t1;
    console.info(`format 4 GiB FAT32: ours ${oursMs.toFixed(1)} ms, mkfs.fat ${mkfsMs.toFixed(1)} ms (process start included)`);
    expect(result.type).toBe('fat32');
    const allocated = statSync(ours).blocks * 512;
    expect(allocated).toBeLessThanOrEqual(result.metadataBytes + 1024 * 1024);
    expect(result.metadataBytes).toBeLessThan(10 * 1024 * 1024);
    expectFsckClean(ours);
  });

  it('honours explicit cluster sizes and types, and the type always follows the cluster count', async () => {
    const image = sparseImage('64M');
    const r1 = await formatImage(image, { clusterBytes: 512 });
    // 64 MiB in 512-byte clusters is > 65524 clusters: that is FAT32 by the spec, whatever mkfs.fat would pick.
    expect(r1.type).toBe('fat32');
    const r2 = await formatImage(image, { type: 'fat16', clusterBytes: 8192 });
    expect([r2.type, r2.clusterBytes]).toEqual(['fat16', 8192]);
    expectFsckClean(image);
    const r3 = await formatImage(image, { type: 'fat12' });
    expect(r3.type).toBe('fat12');
    expect(r3.clusterCount).toBeLessThanOrEqual(4084);
    expectFsckClean(image);
  });
});

describe.skipIf(skip)('formatFat: refusals leave the device untouched', () => {
  /** An image holding an existing volume, so "unchanged" means something. */
  function existingVolume(size: string): string {
    const image = sparseImage(size);
    runToolOk('mkfs.fat', ['-n', 'OLD', image]);
    return image;
  }

  async function expectRefusal(size: string, options: FatFormatOptions, code: string, ...phrases: RegExp[]): Promise<string> {
    const image = existingVolume(size);
    // Hashing shows the bytes are the same; for multi-gigabyte images, counting writes (none) does.
    const small = statSync(image).size <= 64 * 1024 * 1024;
    const before = small ? sha256(image) : '';
    const { error, writes } = await formatCountingWrites(image, options);
    expect(error).toBeInstanceOf(LoopbackError);
    const { message } = error as LoopbackError;
    expect((error as LoopbackError).code, message).toBe(code);
    for (const phrase of phrases) expect(message).toMatch(phrase);
    expect(writes).toBe(0);
    if (small) expect(sha256(image)).toBe(before);
    return message;
  }

  it('FAT16 on 1 MiB: too small, names the size, and says FAT12 fits', async () => {
    const message = await expectRefusal('1M', { type: 'fat16' }, 'VALIDATION', /1 MiB/, /too small for FAT16/, /FAT12/);
    console.info(message);
  });

  it('FAT32 on 16 MiB: too small (needs 65525 clusters), suggests FAT12 or FAT16', async () => {
    console.info(await expectRefusal('16M', { type: 'fat32' }, 'VALIDATION', /16 MiB/, /too small for FAT32/, /65525/, /FAT16/));
  });

  it('FAT12 on 300 MiB: too large, suggests FAT16 or FAT32', async () => {
    console.info(await expectRefusal('300M', { type: 'fat12' }, 'VALIDATION', /300 MiB/, /too large for FAT12/, /FAT16/));
  });

  it('FAT16 on 3 GiB: too large even with 32 KiB clusters, suggests 64 KiB clusters or FAT32', async () => {
    console.info(await expectRefusal('3G', { type: 'fat16' }, 'VALIDATION', /3 GiB/, /too large for FAT16/, /clusterBytes 65536/, /FAT32/));
  });

  it('FAT16 with 32 KiB clusters on 16 MiB: too few clusters, says which cluster size works', async () => {
    console.info(
      await expectRefusal(
        '16M',
        { type: 'fat16', clusterBytes: 32768 },
        'VALIDATION',
        /too small for FAT16 with 32 KiB clusters/,
        /use 4 KiB clusters \(clusterBytes 4096\)/,
        /FAT12/,
      ),
    );
  });

  it('a 16 KiB device: too small for any FAT', async () => {
    const image = sparseImage(16384);
    const before = sha256(image);
    await expect(formatImage(image)).rejects.toThrow(/too small/);
    expect(sha256(image)).toBe(before);
  });

  it('bad labels and cluster sizes: INVALID_INPUT naming the value', async () => {
    await expectRefusal('8M', { label: 'bad:label' }, 'INVALID_INPUT', /"bad:label" is not a valid volume label/);
    await expectRefusal('8M', { label: 'TWELVE CHARS' }, 'INVALID_INPUT', /at most 11/);
    await expectRefusal('8M', { label: 'café' }, 'INVALID_INPUT', /not allowed/);
    await expectRefusal('8M', { clusterBytes: 3000 }, 'INVALID_INPUT', /3000 bytes/, /power of two/);
    await expectRefusal('8M', { clusterBytes: 256 }, 'INVALID_INPUT', /256 bytes/);
    await expectRefusal('8M', { clusterBytes: 131072 }, 'INVALID_INPUT', /131072 bytes/);
    await expectRefusal('8M', { hiddenSectors: -1 }, 'INVALID_INPUT', /hiddenSectors/);
    await expectRefusal('8M', { geometry: { heads: 256, sectorsPerTrack: 63 } }, 'INVALID_INPUT', /heads/);
  });

  it('planFatFormat previews without a device and upper-cases the label', () => {
    const plan = planFatFormat(8 * 1024 * 1024, { label: 'my disk' });
    expect(plan.label).toBe('MY DISK');
    expect(plan.layout.type).toBe('fat12');
  });
});

describe.skipIf(skip)('formatFat: cancellation', () => {
  it('an already aborted signal: CANCELLED, nothing written', async () => {
    const image = sparseImage('64M');
    runToolOk('mkfs.fat', ['-F', '16', image]);
    const before = sha256(image);
    const controller = new AbortController();
    controller.abort();
    const error = await formatImage(image, { type: 'fat32', signal: controller.signal }).catch((e: unknown) => e);
    expect((error as LoopbackError).code).toBe('CANCELLED');
    expect(sha256(image)).toBe(before);
    expectFsckClean(image);
  });

  it('aborted while writing: CANCELLED, and the volume is consistent (finished, not half-written)', async () => {
    const image = sparseImage('2G');
    runToolOk('mkfs.fat', ['-F', '16', image]);
    const controller = new AbortController();
    const phases: number[] = [];
    const error = await formatImage(image, {
      type: 'fat32',
      signal: controller.signal,
      onProgress: (p) => {
        phases.push(p.bytesDone);
        controller.abort();
      },
    }).catch((e: unknown) => e);
    expect((error as LoopbackError).code).toBe('CANCELLED');
    expect((error as LoopbackError).details).toMatchObject({ formatted: true });
    expect(phases.length).toBeGreaterThan(1);
    expectFsckClean(image);
    const device = await FileBlockDevice.open(image, { writable: false });
    expect((await openFat(device)).type).toBe('fat32');
    await device.close();
  });
});

/**
 * Boots `image` in QEMU with SeaBIOS' serial console (fw_cfg etc/sercon-port = 0x3F8, which
 * mirrors the BIOS text screen to COM1) until `expected` shows up or `timeoutMs` passes.
 */
async function bootAndRead(image: string, drive: 'floppy' | 'ide', expected: string, timeoutMs = 20000): Promise<string> {
  const out = join(tmp.dir, `serial-${++counter}.txt`);
  const port = join(tmp.dir, 'sercon-port.bin');
  writeFileSync(port, Uint8Array.of(0xf8, 0x03)); // little-endian 0x3F8
  const qemu = spawn(
    'qemu-system-i386',
    [
      '-drive',
      `file=${image},format=raw,if=${drive}`,
      '-display',
      'none',
      '-serial',
      `file:${out}`,
      '-no-reboot',
      '-fw_cfg',
      `name=etc/sercon-port,file=${port}`,
    ],
    { stdio: 'ignore' },
  );
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const text = existsSync(out) ? readFileSync(out, 'latin1') : '';
      if (text.includes(expected)) return text;
    }
    return existsSync(out) ? readFileSync(out, 'latin1') : '';
  } finally {
    qemu.kill('SIGKILL');
  }
}

describe.skipIf(skip ?? missingTools('qemu-system-i386'))('formatFat: the boot code stub', () => {
  const message = 'This is not a bootable disk: no boot sector has been installed.';
  it("a 1.44M floppy (code at 0x3E) and a FAT32 disk (code at 0x5A) print the stub's message when booted in QEMU", async () => {
    const floppy = sparseImage(1474560);
    await formatImage(floppy);
    expect(await bootAndRead(floppy, 'floppy', message)).toContain(message);
    const disk = sparseImage('64M');
    await formatImage(disk, { type: 'fat32' });
    expect(await bootAndRead(disk, 'ide', message)).toContain(message);
    const head = readHead(disk);
    expect([...head.subarray(0, 3)]).toEqual([0xeb, 0x58, 0x90]); // jump to 0x5A
    expect([...readHead(floppy).subarray(0, 3)]).toEqual([0xeb, 0x3c, 0x90]); // jump to 0x3E
  });
});
