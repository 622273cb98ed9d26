/**
 * GRUB's ISO patches against bytes xorriso 1.5.4 wrote (`xorriso -as mkisofs -b
 * boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table
 * --grub2-boot-info --grub2-mbr boot_hybrid.img --protective-msdos-label -append_partition 2 0xef
 * efi.img -e --interval:appended_partition_2:all::`, measured with xxd): one image with a 2.8 MiB
 * EFI image, one with a 1.2 GiB one whose end lies past cylinder 1023.
 */
import { describe, expect, it } from 'vitest';
import { parseMbrSector } from '../disk/mbr-sector';
import { encodeHybridMbr, GRUB2_BOOT_INFO_OFFSET, HYBRID_MBR_CODE_BYTES, patchGrub2BootInfo } from './grub2-iso';

const hex = (text: string) =>
  Uint8Array.from(
    text
      .replace(/\s+/g, '')
      .match(/../g)!
      .map((b) => parseInt(b, 16)),
  );

/** Stand-in for boot_hybrid.img's code: only bytes 0–431 are taken. */
const code = Uint8Array.from({ length: 512 }, (_, i) => (i * 13) & 0xff);

describe('the hybrid MBR (--grub2-mbr --protective-msdos-label, partition 2 appended)', () => {
  it("matches xorriso's sector 0: core address at 0x1B0, partitions 1 (0xCD, bootable) and 2 (0xEF)", () => {
    // Boot image at block 35, ISO filesystem 54 blocks (216 sectors), ESP 5760 sectors after it.
    const sector = encodeHybridMbr({ bootCode: code, bootImageBlock: 35, isoEndSector: 216, esp: { startSector: 216, sectorCount: 5760 } });
    expect([...sector.subarray(0, HYBRID_MBR_CODE_BYTES)]).toEqual([...code.subarray(0, HYBRID_MBR_CODE_BYTES)]);
    expect([...sector.subarray(0x1b0)]).toEqual([
      ...hex(`9000 0000 0000 0000 0000 0000 0000 8000
              0200 cd06 1800 0100 0000 d700 0000 0006
              1900 ef3a 1802 d800 0000 8016 0000 0000`),
      ...new Uint8Array(0x1fe - 0x1e0),
      0x55,
      0xaa,
    ]);
  });

  it('past cylinder 1023 of 64 × 32, CHS is that geometry’s last address, as xorriso writes it', () => {
    const sector = encodeHybridMbr({
      bootCode: code,
      bootImageBlock: 33,
      isoEndSector: 212,
      esp: { startSector: 212, sectorCount: 2_457_600 },
    });
    expect([...sector.subarray(0x1be, 0x1de)]).toEqual([
      ...hex('8000 0200 cd06 1400 0100 0000 d300 0000 0006 1500 ef3f e0ff d400 0000 0080 2500'),
    ]);
    const parsed = parseMbrSector(sector);
    expect(parsed.entries[1]).toMatchObject({ startLBA: 212, sectorCount: 2_457_600, lastChs: { cylinder: 1023, head: 63, sector: 32 } });
  });

  it('without an ESP: partition 1 only', () => {
    const sector = parseMbrSector(encodeHybridMbr({ bootCode: code, bootImageBlock: 20, isoEndSector: 400 }));
    expect(sector.entries.map((e) => e.sectorCount)).toEqual([399, 0, 0, 0]);
    expect(sector.diskSignature).toBe(0);
  });

  it('refuses boot code shorter than 432 bytes', () => {
    expect(() => encodeHybridMbr({ bootCode: new Uint8Array(100), bootImageBlock: 20, isoEndSector: 400 })).toThrow(
      /432 bytes of GRUB's boot_hybrid.img/,
    );
  });
});

describe('--grub2-boot-info', () => {
  it("writes the image's sector address + 5 at byte 2548 (block 35 → 145, as xorriso did)", () => {
    const image = new Uint8Array(30_000);
    patchGrub2BootInfo(image, 35);
    expect([...image.subarray(GRUB2_BOOT_INFO_OFFSET, GRUB2_BOOT_INFO_OFFSET + 8)]).toEqual([0x91, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => patchGrub2BootInfo(new Uint8Array(2000), 35)).toThrow(/no GRUB i386-pc-eltorito image/);
  });
});
