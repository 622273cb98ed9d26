import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { missingTools, runToolOk, tempDir } from '../../../tests/support/host';
import { parseBootSector } from './boot-sector';
import { fromDosTimestamp, toDosTimestamp } from './dos-time';
import { openFat } from './index';
import { layoutFromBootSector } from './layout';
import { lfnChecksum } from './lfn';
import { foldCase, planShortName, validateLongName } from './names';
import { splitPath } from './paths';
import { patternBytes, UTF8_ENV } from './test-support';

const skip = missingTools('mkfs.fat', 'mdir', 'mcopy', 'truncate');
const tmp = tempDir('fat-names-');
afterAll(() => tmp.cleanup());

/** Names whose short form both mtools and we derive the same way (in this order: tails count up). */
const NAMES = [
  'longfilename.txt',
  'longfilename2.txt',
  'longfile name 3.txt',
  'a.b.c',
  'my file.txt',
  '.bashrc',
  '..hidden',
  'a+b.txt',
  'a;b=c,d.txt',
  'Makefile',
  'MAKEFILE2',
  'README.TXT',
  'readme.md',
  'NOTES.txt',
  'MiXeD',
  'x.tar.gz',
  'abc.defg',
  'file[1].txt',
  'name with. space.t x',
  'ABCDEFGHI.J',
  'Grüße ünïcødé.txt',
  'UPPER~1.TXT',
];

interface MdirLine {
  short: string;
  long: string;
}

/** `mdir` lines: the 8.3 column ("LONGFI~1 TXT") and the long name column. */
function mdirEntries(image: string): Map<string, MdirLine> {
  const out = runToolOk('mdir', ['-i', image, '::/'], { env: UTF8_ENV }).stdout;
  const entries = new Map<string, MdirLine>();
  for (const line of out.split('\n')) {
    const match = /^(.{12})\s+(?:\d+|<DIR>)\s+\d{4}-\d\d-\d\d\s+\d+:\d\d\s*(.*)$/.exec(line);
    if (!match) continue;
    const short = (match[1] ?? '').trimEnd();
    const long = (match[2] ?? '').trim();
    const shown = long || short.replace(/^(\S+)\s+(\S+)$/, '$1.$2');
    entries.set(shown, { short, long });
  }
  return entries;
}

/** Raw 32-byte slots of a FAT12/16 root directory. */
function rootSlots(image: string): Uint8Array[] {
  const bytes = new Uint8Array(readFileSync(image));
  const layout = layoutFromBootSector(parseBootSector(bytes));
  const start = layout.firstRootDirSector * layout.bytesPerSector;
  return Array.from({ length: layout.rootEntryCount }, (_, i) => bytes.slice(start + i * 32, start + i * 32 + 32));
}

describe.skipIf(skip)('short names and long-name entries, compared with mtools', () => {
  const ours = join(tmp.dir, 'ours.img');
  const theirs = join(tmp.dir, 'theirs.img');

  it('we derive the same 8.3 names as mcopy, with ~n tails in the same order, and no LFN for 8.3 names', async () => {
    for (const image of [ours, theirs]) {
      runToolOk('truncate', ['-s', '4M', image]);
      runToolOk('mkfs.fat', [image]);
    }
    const host = join(tmp.dir, 'names');
    mkdirSync(host);
    NAMES.forEach((name, i) => writeFileSync(join(host, name), patternBytes(i + 1, i)));
    runToolOk('mcopy', ['-i', theirs, ...NAMES.map((n) => join(host, n)), '::/'], { env: UTF8_ENV });
    const device = await FileBlockDevice.open(ours, { writable: true });
    const volume = await openFat(device);
    for (const [i, name] of NAMES.entries()) await volume.writeFile(`/${name}`, patternBytes(i + 1, i));
    await volume.flush();
    await device.close();
    const a = mdirEntries(ours);
    const b = mdirEntries(theirs);
    expect(b.size).toBe(NAMES.length);
    expect(Object.fromEntries(a)).toEqual(Object.fromEntries(b));
    // Spot checks of the rules themselves.
    expect(a.get('longfilename.txt')?.short).toBe('LONGFI~1 TXT');
    expect(a.get('longfilename2.txt')?.short).toBe('LONGFI~2 TXT');
    expect(a.get('README.TXT')).toEqual({ short: 'README   TXT', long: '' });
    expect(a.get('readme.md')).toEqual({ short: 'readme   md', long: '' }); // NT lower-case flags, no LFN
    expect(a.get('a+b.txt')?.short).toBe('A_B~1    TXT');
  });

  it("our long-name entries are byte-identical to mcopy's (ordinals, UTF-16, 0x0000 then 0xFFFF padding, checksum)", () => {
    const lfnRun = (slots: Uint8Array[], short: string): Uint8Array[] => {
      const index = slots.findIndex((s) => String.fromCharCode(...s.subarray(0, 11)) === short);
      expect(index, short).toBeGreaterThan(0);
      const run: Uint8Array[] = [];
      for (let i = index - 1; i >= 0 && slots[i]?.[11] === 0x0f; i--) run.unshift(slots[i] as Uint8Array);
      return run;
    };
    const a = rootSlots(ours);
    const b = rootSlots(theirs);
    for (const short of ['LONGFI~1TXT', 'GR\x9a\xe1E\x9a~1TXT', 'NAMEWI~1TX ', 'MIXED      ']) {
      const mine = lfnRun(a, short);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine).toEqual(lfnRun(b, short));
      // And the checksum mtools wrote is the spec's ChkSum() of the short name, as ours computes it.
      const name = Uint8Array.from(short, (c) => c.charCodeAt(0));
      for (const slot of lfnRun(b, short)) expect(slot[13]).toBe(lfnChecksum(name));
    }
  });
});

describe('planShortName', () => {
  const plan = (name: string, taken: string[] = []) => {
    const p = planShortName(name, new Set(taken));
    return { short: String.fromCharCode(...p.shortName), lfn: p.needsLongName, ntRes: p.ntRes };
  };

  it('keeps valid upper-case 8.3 names as they are, without a long name', () => {
    expect(plan('KERNEL.BIN')).toEqual({ short: 'KERNEL  BIN', lfn: false, ntRes: 0 });
    expect(plan('A')).toEqual({ short: 'A          ', lfn: false, ntRes: 0 });
    expect(plan('$%-_@~!.{}#')).toEqual({ short: '$%-_@~! {}#', lfn: false, ntRes: 0 });
  });

  it('lower-case 8.3 names: NT case flags; mixed case: a long name', () => {
    expect(plan('kernel.bin')).toEqual({ short: 'KERNEL  BIN', lfn: false, ntRes: 0x18 });
    expect(plan('kernel.BIN')).toEqual({ short: 'KERNEL  BIN', lfn: false, ntRes: 0x08 });
    expect(plan('Kernel.bin')).toEqual({ short: 'KERNEL  BIN', lfn: true, ntRes: 0 });
  });

  it('collisions count up: ~1, ~2 … ~10 with the base cut shorter', () => {
    const taken = Array.from({ length: 9 }, (_, i) => `LONGFI~${i + 1}TXT`);
    expect(plan('longfilename.txt', taken).short).toBe('LONGF~10TXT');
    expect(plan('KERNEL.BIN', ['KERNEL  BIN']).short).toBe('KERNEL~1BIN');
  });

  it('a first byte 0xE5 (CP850 "Õ") is stored as 0x05 (FAT spec)', () => {
    expect(planShortName('Õx.txt', new Set()).shortName[0]).toBe(0x05);
  });
});

describe('validateLongName', () => {
  it('accepts long, Unicode and space-containing names up to 255 UTF-16 units', () => {
    for (const name of [
      'Grüße ünïcødé.txt',
      ' leading space',
      'x'.repeat(255),
      'emoji 😀.txt',
      'a+b,c;d=e[f]',
      '.bashrc',
      'no extension',
    ]) {
      expect(() => validateLongName(name), name).not.toThrow();
    }
  });

  it('refuses illegal names, naming them', () => {
    const refused = [
      '',
      '.',
      '..',
      'x'.repeat(256),
      'a/b',
      'a\\b',
      'a:b',
      'a*b',
      'a?b',
      'a"b',
      'a<b',
      'a>b',
      'a|b',
      'tab\there',
      'del\u007f',
      'dot.',
      'space ',
      'lone \ud800 surrogate',
    ];
    for (const name of refused) expect(() => validateLongName(name), JSON.stringify(name)).toThrow(JSON.stringify(name));
  });
});

describe('names, paths, times', () => {
  it('folds case without changing length (ß stays ß)', () => {
    expect(foldCase('straße.txt')).toBe('STRAßE.TXT');
    expect(foldCase('Grüße')).toBe('GRÜßE');
  });

  it('splits absolute paths and refuses relative ones', () => {
    expect(splitPath('/a//b/./c/')).toEqual(['a', 'b', 'c']);
    expect(splitPath('/a/../b')).toEqual(['b']);
    expect(splitPath('/')).toEqual([]);
    expect(() => splitPath('relative/path')).toThrow(/absolute/);
  });

  it('encodes DOS date/time as the spec lays out the bits, with 10 ms units in the tenth byte', () => {
    const t = toDosTimestamp(new Date(2021, 2, 4, 5, 6, 7, 500).getTime());
    expect(t.date).toBe(((2021 - 1980) << 9) | (3 << 5) | 4);
    expect(t.time).toBe((5 << 11) | (6 << 5) | 3);
    expect(t.tenths).toBe(150);
    expect(fromDosTimestamp(t.date, t.time, t.tenths)).toBe(new Date(2021, 2, 4, 5, 6, 7, 500).getTime());
    expect(toDosTimestamp(new Date(1970, 0, 1).getTime()).date).toBe((0 << 9) | (1 << 5) | 1);
    expect(fromDosTimestamp(0, 0)).toBeNull();
  });
});
