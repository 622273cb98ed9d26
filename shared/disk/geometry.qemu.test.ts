/**
 * Checks guessBiosGeometry and qemuGeometryHint against the real thing: QEMU boots an image whose
 * MBR boot code (written by our encoder) asks the BIOS for the disk geometry (INT 13h AH=08h)
 * and prints the answer on the serial port.
 */
import { closeSync, openSync, readFileSync, writeFileSync, ftruncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { guessBiosGeometry, type TrackGeometry } from './geometry';
import { createMbrLayout, encodeMbrLayout, qemuGeometryHint, type MbrLayout } from './mbr';
import { MBR_BOOT_CODE_BYTES, parseMbrSector } from './mbr-sector';

// INT 13h AH=08h, DL=80h, then print "C<max cylinder, 4 hex>H<max head>S<sectors per track>" to
// COM1 and leave QEMU through its isa-debug-exit port.
const BOOT_ASM = `
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov ah, 0x08
    mov dl, 0x80
    xor di, di
    int 0x13
    jc fail
    push cx
    push dx
    mov al, 'C'
    call putc
    mov al, cl
    shr al, 6
    call hex8
    mov al, ch
    call hex8
    mov al, 'H'
    call putc
    pop dx
    mov al, dh
    call hex8
    mov al, 'S'
    call putc
    pop cx
    mov al, cl
    and al, 0x3f
    call hex8
    jmp done
fail:
    mov al, 'E'
    call putc
done:
    mov dx, 0xf4
    xor al, al
    out dx, al
    cli
    hlt
    jmp done
putc:
    push dx
    mov dx, 0x3f8
    out dx, al
    pop dx
    ret
hex8:
    push ax
    shr al, 4
    call nibble
    pop ax
    and al, 0x0f
nibble:
    add al, '0'
    cmp al, '9'
    jbe putc
    add al, 7
    jmp putc
`;

const skipReason = missingTools('qemu-system-i386', 'nasm', 'timeout');
const GiB_SECTORS = 2 ** 21;

interface Case {
  name: string;
  diskSectors: number;
  /** Null: a blank table (boot code and 0x55AA only). */
  table: { geometry: TrackGeometry; startSector: number; endSector: number } | null;
}

const CASES: Case[] = [
  {
    name: "the article's disk, 16/63 table, partition 63–1007999",
    diskSectors: 1008000,
    table: { geometry: { heads: 16, sectorsPerTrack: 63 }, startSector: 63, endSector: 1007999 },
  },
  { name: "the article's disk, blank", diskSectors: 1008000, table: null },
  { name: '1 GiB, blank', diskSectors: GiB_SECTORS, table: null },
  {
    name: '1 GiB, 255/63 table, partition to the last sector',
    diskSectors: GiB_SECTORS,
    table: { geometry: { heads: 255, sectorsPerTrack: 63 }, startSector: 2048, endSector: GiB_SECTORS - 1 },
  },
  {
    name: '1 GiB, 16/63 table ending on a cylinder',
    diskSectors: GiB_SECTORS,
    table: { geometry: { heads: 16, sectorsPerTrack: 63 }, startSector: 63, endSector: 2080 * 1008 - 1 },
  },
  {
    name: '100 MiB, 32/32 table ending on a cylinder',
    diskSectors: 204800,
    table: { geometry: { heads: 32, sectorsPerTrack: 32 }, startSector: 32, endSector: 200 * 1024 - 1 },
  },
  {
    name: '10 GiB, 255/63 table (end CHS 1023/254/63)',
    diskSectors: 10 * GiB_SECTORS,
    table: { geometry: { heads: 255, sectorsPerTrack: 63 }, startSector: 2048, endSector: 10 * GiB_SECTORS - 1 },
  },
];

describe.skipIf(skipReason)('BIOS geometry in QEMU (SeaBIOS INT 13h AH=08h)', () => {
  const { dir, cleanup } = tempDir('loopstudio-qemu-geometry-');
  afterAll(cleanup);
  let bootCode: Uint8Array | undefined;

  function assembledBootCode(): Uint8Array {
    if (bootCode) return bootCode;
    writeFileSync(join(dir, 'boot.asm'), BOOT_ASM);
    runToolOk('nasm', ['-f', 'bin', '-o', join(dir, 'boot.bin'), join(dir, 'boot.asm')]);
    const code = readFileSync(join(dir, 'boot.bin'));
    expect(code.length).toBeLessThanOrEqual(MBR_BOOT_CODE_BYTES);
    bootCode = new Uint8Array(MBR_BOOT_CODE_BYTES);
    bootCode.set(code);
    return bootCode;
  }

  it.each(CASES)('$name', ({ name, diskSectors, table }) => {
    const layout: MbrLayout = createMbrLayout(diskSectors, { bootCode: assembledBootCode(), diskSignature: 0x1234abcd });
    if (table) {
      layout.geometry = table.geometry;
      layout.partitions.push({
        number: 1,
        kind: 'primary',
        startSector: table.startSector,
        sectorCount: table.endSector - table.startSector + 1,
        type: 0x83,
        bootable: true,
      });
    }
    const [sector0] = encodeMbrLayout(layout);
    const image = join(dir, `${name.replace(/\W+/g, '-')}.img`);
    const fd = openSync(image, 'w');
    try {
      ftruncateSync(fd, diskSectors * 512);
      writeSync(fd, sector0!.bytes, 0, 512, 0);
    } finally {
      closeSync(fd);
    }
    const serial = join(dir, 'serial.txt');
    const run = runTool('timeout', [
      '20',
      'qemu-system-i386',
      '-nodefaults',
      '-display',
      'none',
      '-no-reboot',
      '-drive',
      `file=${image},format=raw,if=ide`,
      '-serial',
      `file:${serial}`,
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x04',
    ]);
    // isa-debug-exit makes QEMU exit with (0 << 1) | 1.
    expect(run.status, run.stderr).toBe(1);
    const match = /C([0-9A-F]{2})([0-9A-F]{2})H([0-9A-F]{2})S([0-9A-F]{2})/.exec(readFileSync(serial, 'latin1'));
    expect(match, 'the boot sector printed the geometry').not.toBeNull();
    const [, cylHigh, cylLow, maxHead, sectors] = match!.map((hex) => parseInt(hex, 16));

    const hint = qemuGeometryHint(parseMbrSector(sector0!.bytes), diskSectors);
    const expected = guessBiosGeometry(diskSectors, hint).logical;
    expect({ heads: maxHead! + 1, sectorsPerTrack: sectors }).toEqual({ heads: expected.heads, sectorsPerTrack: expected.sectorsPerTrack });
    // SeaBIOS returns the last cylinder index minus one more that it reserves (disk.c, disk_1308).
    expect(cylHigh! * 256 + cylLow!).toBe(expected.cylinders - 2);
  });
});
