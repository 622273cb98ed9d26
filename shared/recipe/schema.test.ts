/**
 * The recipe document: every shipped example parses; every problem is reported with the path of
 * its field; fields that do not go together are refused.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoopbackError } from '../errors';
import { fieldPath, parseRecipe, parseRecipeDate, toBootMenu } from './schema';

const EXAMPLES = join(__dirname, '../../examples');

function problems(document: unknown): string[] {
  try {
    parseRecipe(document);
  } catch (error) {
    expect(error).toBeInstanceOf(LoopbackError);
    return ((error as LoopbackError).details?.problems as string[]) ?? [];
  }
  throw new Error('the recipe was accepted');
}

const floppy = {
  image: { floppy: '1.44M' },
  filesystem: { type: 'fat12' },
  files: [{ from: 'kernel.elf', to: '/boot/kernel.elf' }],
  bootloader: { grubLegacy: {}, menu: { entries: [{ title: 'x', kernel: '/boot/kernel.elf' }] } },
};

describe('recipes', () => {
  it('every example in examples/ is a valid recipe', () => {
    const names = readdirSync(EXAMPLES).filter((n) => n.endsWith('.json'));
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names) expect(() => parseRecipe(JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')))).not.toThrow();
  });

  it('fills in the defaults: multiboot, timeout 5, default 0, no serial', () => {
    const recipe = parseRecipe(floppy);
    expect(recipe.bootloader?.menu).toEqual({
      timeout: 5,
      default: 0,
      serial: false,
      entries: [{ title: 'x', kernel: '/boot/kernel.elf', type: 'multiboot' }],
    });
  });

  it('refuses unknown fields, naming each with its path', () => {
    const bad = {
      ...floppy,
      imagee: 1,
      filesystem: { type: 'fat12', lable: 'X' },
      bootloader: { ...floppy.bootloader, menu: { entries: [{ title: 'x', kernel: '/k', cmdLine: '' }] } },
    };
    expect(problems(bad)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^imagee: unknown field/),
        expect.stringMatching(/^filesystem\.lable: unknown field/),
        expect.stringMatching(/^bootloader\.menu\.entries\[0\]\.cmdLine: unknown field/),
      ]),
    );
    try {
      parseRecipe({ ...floppy, filesystem: { type: 'fat12', lable: 'X' } });
    } catch (error) {
      expect((error as LoopbackError).details?.field).toBe('filesystem.lable');
      expect((error as LoopbackError).message).toMatch(/^The recipe is not valid:\nfilesystem\.lable: unknown field/);
    }
  });

  it('names the field of a bad value', () => {
    expect(problems({ ...floppy, filesystem: { type: 'ntfs' } })).toEqual([
      expect.stringMatching(/^filesystem\.type: one of fat12, fat16, fat32, ext2/),
    ]);
    expect(problems({ ...floppy, files: [{ from: 'k', to: 'boot/k' }] })).toEqual([
      expect.stringMatching(/^files\[0\]\.to: must be an absolute path/),
    ]);
    expect(problems({ image: { size: '64M' }, partitions: [{ start: 63, filesystem: { type: 'ext2', clusterSize: 4096 } }] })).toEqual([
      expect.stringMatching(/^partitions\[0\]\.filesystem\.clusterSize: is for FAT; ext2 takes blockSize/),
    ]);
    expect(
      problems({ ...floppy, bootloader: { ...floppy.bootloader, menu: { default: 2, entries: [{ title: 'x', kernel: '/k' }] } } }),
    ).toEqual([expect.stringMatching(/^bootloader\.menu\.default: is 2 but there is 1 entry/)]);
  });

  it('refuses fields that exclude each other', () => {
    expect(problems({ image: { floppy: '1.44M', size: '2M' } })).toEqual([
      expect.stringMatching(/^image: give exactly one of floppy, size, chs, iso \(got floppy and size\)/),
    ]);
    expect(problems({ ...floppy, bootloader: { grub2: {}, grubLegacy: {} } })).toEqual([
      expect.stringMatching(/^bootloader: give exactly one of grub2, grubLegacy, bootSector/),
    ]);
    expect(problems({ image: { floppy: '1.44M' }, table: 'mbr', partitions: [{}] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^partitions: a floppy has no partition table/)]),
    );
    expect(problems({ image: { size: '64M' }, filesystem: { type: 'fat32' }, partitions: [{}] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^filesystem: a whole-disk filesystem and partitions exclude each other/)]),
    );
    expect(problems({ image: { size: '8M' }, partitions: [{}, {}, {}, {}, {}] })).toEqual([
      expect.stringMatching(/^partitions: an MBR recipe has at most 4/),
    ]);
    expect(problems({ ...floppy, bootloader: { bootSector: { file: 'b.bin' }, menu: floppy.bootloader.menu } })).toEqual([
      expect.stringMatching(/^bootloader\.menu: a boot sector has no menu/),
    ]);
    expect(
      problems({
        image: { size: '64M' },
        partitions: [{ filesystem: { type: 'fat32' } }, {}],
        files: [{ from: 'a', to: '/a', partition: 2 }],
      }),
    ).toEqual([expect.stringMatching(/^files\[0\]\.partition: partition 2 has no filesystem/)]);
  });

  it('turns module paths into the menu’s module objects', () => {
    const recipe = parseRecipe({
      ...floppy,
      bootloader: { grubLegacy: {}, menu: { entries: [{ title: 'x', kernel: '/k', modules: ['/m1', { path: '/m2', cmdline: 'a' }] }] } },
    });
    expect(toBootMenu(recipe.bootloader!.menu!).entries[0]!.modules).toEqual([{ path: '/m1' }, { path: '/m2', cmdline: 'a' }]);
  });

  it('writes field paths the way people read them', () => {
    expect(fieldPath(['partitions', 0, 'filesystem', 'label'])).toBe('partitions[0].filesystem.label');
    expect(fieldPath([])).toBe('');
  });

  describe('ISO images', () => {
    const iso = {
      image: { iso: { volumeId: 'MYOS', date: '2024-01-02T03:04:05Z' } },
      files: [{ from: 'kernel.elf', to: '/boot/kernel.elf' }],
      bootloader: { grub2: { firmware: 'both' }, menu: { entries: [{ title: 'x', kernel: '/boot/kernel.elf' }] } },
    };

    it('takes a volume id, a date with its zone, hybrid, level, name collisions, GRUB 2 or a boot image', () => {
      expect(parseRecipe(iso).image.iso).toEqual({ volumeId: 'MYOS', date: '2024-01-02T03:04:05Z' });
      expect(parseRecipeDate('2024-01-02T03:04:05Z')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
      expect(parseRecipeDate('2024-01-02T05:04:05+02:00')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
      expect(parseRecipeDate('2024-01-02')).toBe(Date.UTC(2024, 0, 2));
      expect(() =>
        parseRecipe({ image: { iso: { hybrid: false, level: 2, nameCollisions: 'rename' } }, files: [{ from: 'a', to: '/a' }] }),
      ).not.toThrow();
      expect(() =>
        parseRecipe({ image: { iso: {} }, bootloader: { bootImage: { file: 'boot.bin', loadSectors: 4, bootInfoTable: true } } }),
      ).not.toThrow();
    });

    it('names the field of a bad volume id, date or boot image', () => {
      expect(problems({ ...iso, image: { iso: { volumeId: 'x'.repeat(33) } } })).toEqual([
        expect.stringMatching(/^image\.iso\.volumeId: at most 32 characters/),
      ]);
      expect(problems({ ...iso, image: { iso: { volumeId: 'Ü' } } })).toEqual([
        expect.stringMatching(/^image\.iso\.volumeId: printable ASCII/),
      ]);
      expect(problems({ ...iso, image: { iso: { date: '2024-01-02T03:04:05' } } })).toEqual([
        expect.stringMatching(/^image\.iso\.date: an ISO 8601 date with its time zone/),
      ]);
      expect(problems({ ...iso, image: { iso: { date: '2024-13-45' } } })).toEqual([
        expect.stringMatching(/^image\.iso\.date: is not a real date/),
      ]);
      expect(problems({ ...iso, image: { iso: { date: '1899-12-31' } } })).toEqual([
        expect.stringMatching(/^image\.iso\.date: ISO 9660 records dates from 1900 to 2155/),
      ]);
      expect(problems({ ...iso, image: { iso: { lable: 'X' } } })).toEqual([expect.stringMatching(/^image\.iso\.lable: unknown field/)]);
      expect(problems({ image: { iso: {} }, bootloader: { bootImage: { loadSectors: 0 } } })).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^bootloader\.bootImage: give "file"/),
          expect.stringMatching(/^bootloader\.bootImage\.loadSectors/),
        ]),
      );
      expect(problems({ image: { iso: {}, size: '1M' } })).toEqual([
        expect.stringMatching(/^image: give exactly one of floppy, size, chs, iso \(got size and iso\)/),
      ]);
    });

    it('refuses what an ISO image cannot have: partitions, a filesystem, GRUB legacy, a boot sector, a hybrid MBR without GRUB for BIOS', () => {
      expect(problems({ ...iso, partitions: [{}], table: 'mbr' })).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^partitions: an ISO image is one ISO 9660 filesystem/),
          expect.stringMatching(/^table: an ISO image/),
        ]),
      );
      expect(problems({ ...iso, filesystem: { type: 'fat12' } })).toEqual([
        expect.stringMatching(/^filesystem: an ISO image's filesystem is ISO 9660/),
      ]);
      expect(problems({ ...iso, files: [{ from: 'k', to: '/k', partition: 1 }] })).toEqual([
        expect.stringMatching(/^files\[0\]\.partition: an ISO image/),
      ]);
      expect(problems({ ...iso, bootloader: { grubLegacy: {} } })).toEqual([
        expect.stringMatching(/^bootloader\.grubLegacy: GRUB legacy boots a CD only through its stage2_eltorito/),
      ]);
      expect(problems({ ...iso, bootloader: { bootSector: { file: 'b.bin' } } })).toEqual([
        expect.stringMatching(/^bootloader\.bootSector: a CD has no boot sector.*bootImage/),
      ]);
      expect(problems({ image: { iso: { hybrid: true } }, bootloader: { bootImage: { file: 'b.bin' } } })).toEqual([
        expect.stringMatching(/^image\.iso\.hybrid: the hybrid MBR is GRUB's boot_hybrid\.img/),
      ]);
      expect(problems({ image: { iso: { hybrid: true } }, bootloader: { grub2: { firmware: 'uefi' } } })).toEqual([
        expect.stringMatching(/^image\.iso\.hybrid: the hybrid MBR starts GRUB for BIOS/),
      ]);
      expect(problems({ image: { iso: {} }, bootloader: { bootImage: { file: 'b.bin' }, menu: iso.bootloader.menu } })).toEqual([
        expect.stringMatching(/^bootloader\.menu: your own boot image has no menu/),
      ]);
      expect(problems({ image: { size: '8M' }, bootloader: { bootImage: { file: 'b.bin' } } })).toEqual([
        expect.stringMatching(/^bootloader\.bootImage: is for ISO images/),
      ]);
    });
  });
});
