/**
 * The test programs themselves, checked by independent tools: GRUB's own multiboot check, the
 * ELF's section sizes, the boot sector's bytes, and QEMU booting each with nothing of ours between
 * (plain qemu-system-i386: `-kernel` for the multiboot kernel, `-drive if=floppy` for the sector).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools, runTool, runToolOk, tempDir } from '../host';
import {
  BOOT_SECTOR_LINE,
  DEBUG_EXIT_STATUS,
  KERNEL_LINE,
  buildBootSector,
  buildTestKernel,
  testProgramsMissing,
  writeBootSectorFloppy,
} from '.';

const cannotBuild = testProgramsMissing();
const noQemu = missingTools('qemu-system-i386');
const title = (name: string, reason: string | null) => (reason ? `${name} (skipped: ${reason})` : name);

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('loopstudio-testkernel-')));
afterAll(() => cleanup());

/** Runs plain QEMU with the serial port in a file; the programs end QEMU through isa-debug-exit. */
function bootWithQemu(args: string[]): { status: number | null; serial: string } {
  const serial = join(dir, `serial-${Math.random().toString(36).slice(2)}.txt`);
  const run = runTool('timeout', [
    '20',
    'qemu-system-i386',
    ...args,
    '-display',
    'none',
    '-serial',
    `file:${serial}`,
    '-no-reboot',
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ]);
  return { status: run.status, serial: readFileSync(serial, 'utf8') };
}

describe.skipIf(cannotBuild)(title('the multiboot test kernel', cannotBuild), () => {
  it('is accepted by grub-file as a multiboot v1 kernel, and the boot sector is not', () => {
    const kernel = buildTestKernel(dir);
    expect(runTool('grub-file', ['--is-x86-multiboot', kernel]).status).toBe(0);
    expect(runTool('grub-file', ['--is-x86-multiboot', buildBootSector(dir)]).status).not.toBe(0);
  }, 20_000);

  it('is under 1 KiB of code and data, loaded at 1 MiB', () => {
    const kernel = buildTestKernel(dir);
    // size -A: one line per section, "name size addr".
    const sections = runToolOk('size', ['-A', kernel]).stdout;
    const text = /^\.text\s+(\d+)\s+(\d+)/m.exec(sections);
    expect(text).not.toBeNull();
    expect(Number(text![1])).toBeLessThan(1024);
    expect(Number(text![2])).toBe(0x100000);
    expect(readFileSync(join(__dirname, 'kernel.asm'), 'utf8').split('\n').length).toBeLessThan(60);
  });

  it.skipIf(noQemu)(
    title('boots with QEMU’s own multiboot loader (-kernel) and prints its line on COM1', noQemu),
    () => {
      const { status, serial } = bootWithQemu(['-kernel', buildTestKernel(dir)]);
      expect(serial).toContain(`${KERNEL_LINE}\r\n`);
      expect(status).toBe(DEBUG_EXIT_STATUS);
    },
    30_000,
  );
});

describe.skipIf(cannotBuild)(title('the boot-sector test program', cannotBuild), () => {
  it('is one 512-byte sector ending 55 AA, with the BPB and partition-table bytes left zero', () => {
    const sector = readFileSync(buildBootSector(dir));
    expect(sector.length).toBe(512);
    expect([sector[510], sector[511]]).toEqual([0x55, 0xaa]);
    // A short jump over the BPB: EB xx 90, as the FAT spec's BS_jmpBoot.
    expect([sector[0], sector[2]]).toEqual([0xeb, 0x90]);
    expect(sector.subarray(3, 90).every((b) => b === 0)).toBe(true);
    expect(sector.subarray(446, 510).every((b) => b === 0)).toBe(true);
  });

  it.skipIf(noQemu)(
    title('boots from a 1.44M floppy and prints its line on COM1', noQemu),
    () => {
      const image = writeBootSectorFloppy(buildBootSector(dir), join(dir, 'floppy.img'));
      const { status, serial } = bootWithQemu(['-drive', `file=${image},format=raw,if=floppy`, '-boot', 'order=a']);
      expect(serial).toContain(`${BOOT_SECTOR_LINE}\r\n`);
      expect(status).toBe(DEBUG_EXIT_STATUS);
    },
    30_000,
  );
});
