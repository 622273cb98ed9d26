/**
 * ISO 9660 and Joliet names: the mapping (level 1 and 2), uniqueness, refusals, and the order
 * records are written in. The expected names are genisoimage 1.1.11's for the same input
 * (`genisoimage [-iso-level 2] DIR; isoinfo -l`) except where noted: genisoimage keeps dots in
 * folder names and special-cases ".tar.gz", neither of which ECMA-119's d-characters allow.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignIsoIdentifiers,
  assignJolietNames,
  compareIdentifiers,
  isDCharacter,
  isoIdentifier,
  jolietIdentifier,
  mapIsoName,
  type IsoLevel,
} from './names';

const id = (name: string, kind: 'file' | 'directory', level: IsoLevel) => isoIdentifier(mapIsoName(name, kind, level), kind);

describe('ISO 9660 names', () => {
  it('level 1: 8.3, upper case, other characters as "_", a "." even without extension', () => {
    expect(id('grub.cfg', 'file', 1)).toBe('GRUB.CFG;1');
    expect(id('Kernel-1.0.bin', 'file', 1)).toBe('KERNEL_1.BIN;1');
    expect(id('.bashrc', 'file', 1)).toBe('_BASHRC.;1');
    expect(id('no_ext', 'file', 1)).toBe('NO_EXT.;1');
    expect(id('a b c d e f g h', 'file', 1)).toBe('A_B_C_D_.;1');
    expect(id('verylongextension.abcdef', 'file', 1)).toBe('VERYLONG.ABC;1');
    expect(id('1234567890.12345', 'file', 1)).toBe('12345678.123;1');
    expect(id('trailing.', 'file', 1)).toBe('TRAILING.;1');
    expect(id('Mixed Case Dir', 'directory', 1)).toBe('MIXED_CA');
    // genisoimage: "DIR_WITH.DOT" and "X.TGZ"; ECMA-119 has no "." in directory identifiers.
    expect(id('dir.with.dots', 'directory', 1)).toBe('DIR_WITH');
    expect(id('x.tar.gz', 'file', 1)).toBe('X_TAR.GZ;1');
    // One "_" per character (genisoimage writes one per UTF-8 byte).
    expect(id('ü-umlaut.TXT', 'file', 1)).toBe('__UMLAUT.TXT;1');
  });

  it('level 2: 30 characters of name and extension, 31 for folders', () => {
    expect(id('Kernel-1.0.bin', 'file', 2)).toBe('KERNEL_1_0.BIN;1');
    expect(id('verylongextension.abcdef', 'file', 2)).toBe('VERYLONGEXTENSION.ABCDEF;1');
    expect(id('Mixed Case Dir', 'directory', 2)).toBe('MIXED_CASE_DIR');
    expect(id('a'.repeat(40) + '.txt', 'file', 2)).toBe(`${'A'.repeat(27)}.TXT;1`);
    expect(id('d'.repeat(40), 'directory', 2)).toBe('D'.repeat(31));
  });

  it('only ever produces d-characters within the level limits', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }),
        fc.constantFrom<IsoLevel>(1, 2),
        fc.boolean(),
        (name, level, dir) => {
          const kind = dir ? 'directory' : 'file';
          const { base, ext } = mapIsoName(name, kind, level);
          for (const c of base + ext) expect(isDCharacter(c.charCodeAt(0))).toBe(true);
          if (kind === 'directory') expect(base.length).toBeLessThanOrEqual(level === 1 ? 8 : 31);
          else if (level === 1) expect(base.length <= 8 && ext.length <= 3).toBe(true);
          else expect(base.length + ext.length).toBeLessThanOrEqual(30);
        },
      ),
    );
  });

  it('makes names unique as mkisofs does: READM000.TXT, READM001.TXT, in name order', () => {
    const entries = ['readme.txt', 'README.txt', 'ReadMe.TXT', 'other'].map((name) => ({ name, kind: 'file' as const }));
    const { identifiers, changes, refusals } = assignIsoIdentifiers(entries, 1, 'rename');
    // Code-unit order: "README.txt" < "ReadMe.TXT" < "readme.txt": the first keeps the name.
    expect(identifiers).toEqual(['READM001.TXT;1', 'README.TXT;1', 'READM000.TXT;1', 'OTHER.;1']);
    expect(changes.map((c) => `${c.name} → ${c.used} (shared with ${c.sharedWith})`)).toEqual([
      'ReadMe.TXT → READM000.TXT;1 (shared with README.txt)',
      'readme.txt → READM001.TXT;1 (shared with README.txt)',
    ]);
    expect(refusals).toEqual([]);
  });

  it('never gives a counter name that another entry has by itself', () => {
    const entries = ['abcdefgh.txt', 'ABCDEFGH.TXT', 'abcde000.txt'].map((name) => ({ name, kind: 'file' as const }));
    const { identifiers } = assignIsoIdentifiers(entries, 1, 'rename');
    expect(new Set(identifiers).size).toBe(3);
    expect(identifiers).toContain('ABCDE000.TXT;1');
    expect(identifiers).toContain('ABCDE001.TXT;1');
  });

  it('treats a folder and an extensionless file of one name as the same name (readers show both as "BOOT")', () => {
    const { identifiers } = assignIsoIdentifiers(
      [
        { name: 'boot', kind: 'directory' },
        { name: 'Boot', kind: 'file' },
      ],
      1,
      'rename',
    );
    // "Boot" comes before "boot" in UTF-16 order, so the file keeps the name.
    expect(identifiers).toEqual(['BOOT000', 'BOOT.;1']);
  });

  it("with 'refuse', names both entries", () => {
    const { refusals } = assignIsoIdentifiers(
      [
        { name: 'a.txt', kind: 'file' },
        { name: 'A.TXT', kind: 'file' },
      ],
      1,
      'refuse',
      (n) => `/docs/${n}`,
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.message).toContain('/docs/A.TXT and /docs/a.txt both map to the ISO 9660 name "A.TXT;1"');
  });

  it('is unique for any set of names', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 20, unit: fc.constantFrom(...'aAbB.-_ 1~') }), { maxLength: 40 }),
        fc.constantFrom<IsoLevel>(1, 2),
        (names, level) => {
          const entries = names.map((name, i) => ({ name, kind: i % 3 === 0 ? ('directory' as const) : ('file' as const) }));
          const { identifiers } = assignIsoIdentifiers(entries, level, 'rename');
          const keys = identifiers.map((x) => x.replace(/;1$/, '').replace(/\.$/, ''));
          expect(new Set(keys).size).toBe(names.length);
        },
      ),
    );
  });
});

describe('Joliet names', () => {
  it('keeps case and Unicode, replaces * / : ; ? \\, and adds ";1" to files that fit', () => {
    const { names } = assignJolietNames([{ name: 'Grüße: a;b?.txt', kind: 'file' }], 'truncate');
    expect(names).toEqual(['Grüße_ a_b_.txt']);
    expect(jolietIdentifier(names[0]!, 'file')).toBe('Grüße_ a_b_.txt;1');
    expect(jolietIdentifier('x'.repeat(64), 'file')).toBe('x'.repeat(64));
    expect(jolietIdentifier('Boot', 'directory')).toBe('Boot');
  });

  it('cuts names to 64 characters (not inside a surrogate pair), and keeps them unique', () => {
    const long = 'A long file name that Windows would only see cut at sixty-four characters';
    const { names, changes } = assignJolietNames(
      [
        { name: `${long} (1).txt`, kind: 'file' },
        { name: `${long} (2).txt`, kind: 'file' },
        { name: `${'x'.repeat(63)}😀`, kind: 'file' },
      ],
      'truncate',
    );
    expect(names[0]).toBe(long.slice(0, 64));
    expect(names[1]!.length).toBeLessThanOrEqual(64);
    expect(names[1]).not.toBe(names[0]);
    expect(names[2]).toBe('x'.repeat(63));
    expect(changes).toHaveLength(3);
  });

  it("with 'refuse', reports names over 64 characters", () => {
    const { refusals } = assignJolietNames([{ name: 'n'.repeat(65), kind: 'file' }], 'refuse', (n) => `/${n}`);
    expect(refusals[0]!.message).toMatch(/65 UTF-16 characters, more than the 64 Joliet allows/);
  });
});

describe('record order (ECMA-119 9.3)', () => {
  it('orders by name, then extension, each padded with spaces', () => {
    const ids = ['README.TXT;1', 'A.;1', 'READ.ME;1', 'A_B', 'AB', 'A', 'A.B;1'];
    expect([...ids].sort(compareIdentifiers)).toEqual(['A.;1', 'A', 'A.B;1', 'AB', 'A_B', 'READ.ME;1', 'README.TXT;1']);
  });
});
