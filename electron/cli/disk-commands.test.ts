/**
 * The disk-core commands end to end, as a user runs them, checked with sfdisk, fdisk and sgdisk.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../tests/support/cli';
import { missingTools, runToolOk, tempDir } from '../../tests/support/host';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const skip = missingTools('sfdisk', 'fdisk', 'sgdisk');

describe.skipIf(skip)('create, partition, info — the article’s hard disk', () => {
  it('reproduces the article exactly, and sfdisk and fdisk agree with info --json', async () => {
    const img = join(dir, 'c.img');
    expect((await cli('create', img, '--chs', '1000/16/63')).code).toBe(0);
    expect((await cli('partition', img, '--table', 'mbr', '--add', 'start=63,size=rest,type=83,bootable')).code).toBe(0);
    const info = (await cli('info', img, '--json')).json();

    expect(info).toMatchObject({
      sizeBytes: 516_096_000,
      totalSectors: 1_008_000,
      geometry: { cylinders: 1000, heads: 16, sectorsPerTrack: 63, sectorSize: 512 },
      table: 'mbr',
    });
    expect(info.partitions).toEqual([
      expect.objectContaining({
        index: 1,
        startSector: 63,
        endSector: 1_007_999,
        sectorCount: 1_007_937,
        offsetBytes: 32_256,
        blocks1KiB: 503_968,
        type: '83',
        typeName: 'Linux',
        bootable: true,
      }),
    ]);

    const sfdisk = JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable;
    expect(sfdisk.label).toBe('dos');
    expect(sfdisk.id).toBe(info.diskId);
    expect(sfdisk.partitions).toEqual([{ node: `${img}1`, start: 63, size: 1_007_937, type: '83', bootable: true }]);
    expect(runToolOk('sfdisk', ['-V', img]).stdout).toContain('No errors detected.');

    const fdisk = runToolOk('fdisk', ['-l', img]).stdout;
    expect(fdisk).toContain('516096000 bytes, 1008000 sectors');
    expect(fdisk).toMatch(
      new RegExp(`${img.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}1\\s+\\*\\s+63\\s+1007999\\s+1007937\\s+492.2M\\s+83 Linux`),
    );
    // Old fdisk's "Blocks" column (the article's 503968+) is what `sfdisk -l -o Start,Sectors,Size` no longer prints;
    // check the CHS fields instead, which fdisk derives from the same geometry.
    const chs = runToolOk('sfdisk', ['--list', '--output', 'Device,Start-C/H/S,End-C/H/S', img]).stdout;
    expect(chs).toMatch(/0\/1\/1\s+999\/15\/63/);
  });

  it('adds, sets and deletes partitions, and sfdisk sees each result', async () => {
    const img = join(dir, 'edit.img');
    await cli('create', img, '--size', '64M');
    const made = await cli(
      'partition',
      img,
      '--table',
      'mbr',
      '--align',
      '2048',
      '--add',
      'size=10M,type=0c,bootable',
      '--add',
      'extended',
      '--add',
      'logical,size=5M',
      '--add',
      'logical,type=fat16',
    );
    expect(made.code).toBe(0);
    let parts = JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable.partitions;
    expect(parts.map((p: { type: string }) => p.type)).toEqual(['c', '5', '83', '6']);
    expect(parts[0]).toMatchObject({ start: 2048, size: 20480, bootable: true });

    expect((await cli('partition', img, '--set', '1', 'bootable=off,type=0b', '--delete', '5')).code).toBe(0);
    parts = JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable.partitions;
    expect(parts.map((p: { type: string }) => p.type)).toEqual(['b', '5', '6']);
    expect(parts[0].bootable).toBeUndefined();
    expect(runToolOk('sfdisk', ['-V', img]).stdout).toContain('No errors detected.');
  });

  it('writes GPTs that sgdisk verifies, and reads the names and types back', async () => {
    const img = join(dir, 'gpt.img');
    await cli('create', img, '--size', '64M');
    const made = await cli('partition', img, '--table', 'gpt', '--add', 'size=1MiB,type=bios', '--add', 'type=linux,name=root', '--json');
    expect(made.code).toBe(0);
    expect(runToolOk('sgdisk', ['-v', img]).stdout).toContain('No problems found.');
    const sf = JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable;
    const ours = made.json();
    expect(sf.label).toBe('gpt');
    expect(sf.id).toBe(ours.diskId);
    expect(
      sf.partitions.map((p: { start: number; size: number; type: string; uuid: string }) => [p.start, p.size, p.type, p.uuid]),
    ).toEqual(
      ours.partitions.map((p: { startSector: number; sectorCount: number; type: string; uniqueGuid: string }) => [
        p.startSector,
        p.sectorCount,
        p.type,
        p.uniqueGuid,
      ]),
    );
    expect(sf.partitions[1].name).toBe('root');

    // Moved and resized in place: the same entry, GUID and name where sfdisk and sgdisk look.
    expect((await cli('partition', img, '--set', '2', 'start=8192,size=32M')).code).toBe(0);
    const moved = JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable.partitions[1];
    expect(moved).toMatchObject({ start: 8192, size: 65536, uuid: sf.partitions[1].uuid, name: 'root' });
    expect(runToolOk('sgdisk', ['-v', img]).stdout).toContain('No problems found.');
  });
});

describe.skipIf(skip)('bad input changes nothing', () => {
  const cases: [string, string[], string][] = [
    ['an overlap', ['--add', 'start=2048,size=100'], 'overlaps partition 1'],
    ['a start beyond the disk', ['--add', 'start=200000,size=10'], '200000'],
    ['a fifth primary', ['--add', 'size=1M', '--add', 'size=1M', '--add', 'size=1M', '--add', 'size=1M'], 'primary'],
    ['a logical without an extended', ['--add', 'logical,size=1M'], 'needs an extended partition'],
    ['an unknown type', ['--add', 'size=1M,type=zz'], 'zz'],
    ['a switch of table type', ['--table', 'gpt', '--add', 'size=1M'], 'Add --new to start a fresh GPT table'],
    ['an unknown partition number', ['--delete', '3'], 'no partition 3'],
    ['a bad item', ['--add', 'colour=blue'], 'Unknown item "colour=blue"'],
  ];
  it.each(cases)('%s: a clear error and the image hash unchanged', async (_name, args, message) => {
    const img = join(dir, `bad-${_name.replace(/\W+/g, '-')}.img`);
    await cli('create', img, '--size', '64M');
    await cli('partition', img, '--table', 'mbr', '--add', 'start=2048,size=20480,type=83');
    const before = sha(img);
    const result = await cli('partition', img, ...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
    expect(sha(img)).toBe(before);
  });

  it('partitioning an image with no table needs --table', async () => {
    const img = join(dir, 'blank.img');
    await cli('create', img, '--size', '1M');
    const before = sha(img);
    const result = await cli('partition', img, '--add', 'size=100');
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('say which to create, --table mbr or --table gpt') });
    expect(sha(img)).toBe(before);
  });

  it('a GPT on a disk too small for one is refused', async () => {
    const img = join(dir, 'tiny.img');
    await cli('create', img, '--size', '32K');
    const before = sha(img);
    const result = await cli('partition', img, '--table', 'gpt', '--add', 'size=1');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/too small|sectors/);
    expect(sha(img)).toBe(before);
  });
});

describe('geometry', () => {
  it('gives the article’s numbers for 1000 cylinders', async () => {
    const report = (await cli('geometry', '--cylinders', '1000', '--json')).json();
    expect(report).toMatchObject({
      bytesPerCylinder: 516_096,
      sizeBytes: 516_096_000,
      totalSectors: 1_008_000,
      partition: { startSector: 63, endSector: 1_007_999, offsetBytes: 32_256, blocks1KiB: { blocks: 503_968 } },
    });
    expect(report.bochs).toBe('ata0-master: type=disk, path="c.img", mode=flat, cylinders=1000, heads=16, spt=63');
  });

  it('shows both roundings for a size', async () => {
    const text = (await cli('geometry', '--size', '500M')).stdout;
    expect(text).toContain('down: 1015 (523837440 bytes), up: 1016 (524353536 bytes)');
    expect(text).toContain('losetup -o32256');
  });

  it('refuses --size and --cylinders together', async () => {
    expect(await cli('geometry', '--size', '1M', '--cylinders', '3')).toMatchObject({ code: 2 });
  });
});
