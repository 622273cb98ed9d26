/**
 * `loopstudio bootloader`, as a user runs it on images made with create/partition/format/put:
 * GRUB legacy on a hard-disk partition, GRUB 2 on a GPT disk's BIOS boot partition, the user's
 * boot sector over an MBR — each booted in QEMU — and the refusals (core.img too big for the gap,
 * GPT without a BIOS boot partition, a floppy for GRUB 2, a kernel not in the image, GRUB files
 * missing, a stage longer than the free sectors), each of which leaves the image byte for byte
 * as it was.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAndExpect, bootTestsMissing, grubLegacyMissing, grubUefiBootMissing } from '../../tests/support/boot';
import { cli, cliOk } from '../../tests/support/cli';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { BOOT_SECTOR_LINE, buildBootSector, buildTestKernel, KERNEL_LINE } from '../../tests/support/test-kernel';
import { fsck } from '../../shared/fs/fat/test-support';

const skip = bootTestsMissing() ?? missingTools('grub-mkimage', 'sfdisk', 'sgdisk', 'fsck.fat', 'e2fsck');
const noUefi = grubUefiBootMissing();
const noLegacy = grubLegacyMissing();

let dir: string;
let cleanup: () => void;
let kernel: string;
let bootSector: string;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('loopstudio-bootcmd-'));
  if (skip) return;
  kernel = buildTestKernel(dir);
  bootSector = buildBootSector(dir);
});
afterAll(() => cleanup());

let counter = 0;
const image = (name: string) => join(dir, `${++counter}-${name}.img`);
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const sfdiskTable = (path: string) => JSON.parse(runToolOk('sfdisk', ['--json', path]).stdout).partitiontable;

/** Runs the command, expects it to fail with `message`, and the image to be unchanged. */
async function refused(img: string, args: string[], message: RegExp, exitCode = 1): Promise<void> {
  const before = sha(img);
  const run = await cli('bootloader', img, ...args);
  expect(run.stderr).toMatch(message);
  expect(run.code).toBe(exitCode);
  expect(sha(img)).toBe(before);
}

async function mbrDisk(name: string, start: number, fs: 'fat32' | 'ext2' | 'fat16', size = '64M'): Promise<string> {
  const img = image(name);
  await cliOk('create', img, ...(size.includes('/') ? ['--chs', size] : ['--size', size]));
  await cliOk('partition', img, '--table', 'mbr', '--add', `start=${start},size=rest,type=${fs === 'ext2' ? '83' : '0c'},bootable`);
  await cliOk('format', img, '-p', '1', '--fs', fs);
  return img;
}

describe.skipIf(skip)(`loopstudio bootloader${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it.skipIf(noLegacy)(
    'GRUB legacy on a hard disk: stage1 in the MBR (table kept), stage2 on ext2 at sector 63, root (hd0,0); boots',
    async () => {
      const img = await mbrDisk('legacy-hd', 63, 'ext2', '65/16/63');
      const tableBefore = sfdiskTable(img);
      const result = (
        await cliOk(
          'bootloader',
          img,
          '-p',
          '1',
          '--grub-legacy',
          '--kernel',
          '/boot/kernel.elf',
          '--kernel-file',
          kernel,
          '--timeout',
          '0',
          '--serial',
          '--json',
        )
      ).json();
      expect(result).toMatchObject({ loader: 'grub-legacy', device: '(hd0,0)' });
      // The block list's sectors are absolute: they start past the partition's first sector.
      expect(result.blockList.every((e: { startSector: number }) => e.startSector > 63)).toBe(true);
      expect(sfdiskTable(img)).toEqual(tableBefore);
      const part = join(dir, 'legacy-hd.part');
      writeFileSync(part, readFileSync(img).subarray(63 * 512));
      expect(runTool('e2fsck', ['-fn', part]).status).toBe(0);
      expect(runToolOk('debugfs', ['-R', 'cat /boot/grub/menu.lst', part]).stdout).toMatch(/root \(hd0,0\)\n\tkernel \/boot\/kernel\.elf/);
      const boot = await bootAndExpect(img, KERNEL_LINE);
      expect(boot.output).toContain('Filesystem type is ext2fs, partition type 0x83');
      expect(boot.matched).toBe(true);
    },
    60_000,
  );

  it('GRUB 2 on GPT: core.img in the BIOS boot partition (its block list moved there), FAT32 partition 2; sgdisk -v clean; boots', async () => {
    const img = image('gpt');
    await cliOk('create', img, '--size', '64M');
    await cliOk('partition', img, '--table', 'gpt', '--add', 'start=34,size=2014,type=bios', '--add', 'start=2048,size=rest,type=msdata');
    await cliOk('format', img, '-p', '2', '--fs', 'fat32');
    await cliOk('put', img, '-p', '2', kernel, '/');
    const result = (
      await cliOk('bootloader', img, '-p', '2', '--grub2', '--kernel', '/kernel.elf', '--timeout', '0', '--serial', '--json')
    ).json();
    expect(result.core.prefix).toBe('(hd0,gpt2)/boot/grub');
    expect(result.sectors[1]).toMatchObject({ sector: 34 });
    const sgdisk = runTool('sgdisk', ['-v', img]);
    expect(sgdisk.stdout).toMatch(/No problems found/);
    const bytes = readFileSync(img);
    // boot.img points at LBA 34; core.img's list at 35 (GRUB 2.06 boot.h / diskboot.S).
    expect(bytes.readBigUInt64LE(0x5c)).toBe(34n);
    expect(bytes.readBigUInt64LE(34 * 512 + 0x1f4)).toBe(35n);
    expect((await bootAndExpect(img, KERNEL_LINE)).matched).toBe(true);
  }, 60_000);

  it('refuses a core.img too big for the 31 KiB gap before sector 63, and writes nothing', async () => {
    const img = await mbrDisk('gap', 63, 'ext2', '65/16/63');
    await refused(
      img,
      ['-p', '1', '--grub2', '--core-modules', 'multiboot'],
      /core\.img is [\d.]+ KiB \(\d+ sectors\) but the gap between the MBR and partition 1 \(sectors 1–62\) holds 62 sectors.*start the first partition at sector 2048/,
    );
  }, 60_000);

  it('refuses GPT without a BIOS boot partition, and a floppy, for GRUB 2', async () => {
    const gpt = image('gpt-nobios');
    await cliOk('create', gpt, '--size', '64M');
    await cliOk('partition', gpt, '--table', 'gpt', '--add', 'size=rest,type=msdata');
    await cliOk('format', gpt, '-p', '1', '--fs', 'fat32');
    await refused(gpt, ['-p', '1', '--grub2'], /no BIOS boot partition.*type=bios/);
    const floppy = image('floppy');
    await cliOk('create', floppy, '--floppy', '1.44M');
    await cliOk('format', floppy, '--fs', 'fat12');
    await refused(floppy, ['--grub2'], /this is a 1\.44M floppy.*Use GRUB legacy \(--grub-legacy\)/);
  }, 60_000);

  it('names a kernel that is not in the image, and missing GRUB files with the package to install', async () => {
    const img = await mbrDisk('nokernel', 2048, 'fat32');
    await refused(
      img,
      ['-p', '1', '--grub2', '--kernel', '/boot/missing.elf'],
      /menu entry 0 \("missing\.elf"\) kernel: \/boot\/missing\.elf is not a file in partition 1/,
    );
    await refused(
      img,
      ['-p', '1', '--grub-legacy', '--stage-dir', '/nonexistent'],
      /stage1 and stage2 are not in \/nonexistent\..*apt install grub-legacy/,
    );
    // ext2 too: the volume is closed without writing anything.
    const ext2 = await mbrDisk('nokernel-ext2', 63, 'ext2', '65/16/63');
    await refused(ext2, ['-p', '1', '--grub-legacy', '--kernel', '/boot/missing.elf'], /\/boot\/missing\.elf is not a file in partition 1/);
    const saved = process.env.LOOPSTUDIO_GRUB2_DIR;
    process.env.LOOPSTUDIO_GRUB2_DIR = join(dir, 'no-grub-here');
    try {
      const run = await cli('bootloader', img, '-p', '1', '--grub2', '--json');
      expect(run.json().error).toMatchObject({
        code: 'HOST_TOOL_MISSING',
        details: { installHint: 'sudo apt install grub-common grub-pc-bin' },
      });
    } finally {
      if (saved === undefined) delete process.env.LOOPSTUDIO_GRUB2_DIR;
      else process.env.LOOPSTUDIO_GRUB2_DIR = saved;
    }
  }, 60_000);

  it.skipIf(noUefi)(
    'GRUB 2 for UEFI alone on an MBR FAT32 partition: BOOTX64.EFI and grub.cfg only, sector 0 untouched; boots in OVMF',
    async () => {
      const img = await mbrDisk('uefi-mbr', 2048, 'fat32');
      const sector0 = readFileSync(img).subarray(0, 512);
      const result = (
        await cliOk(
          'bootloader',
          img,
          '-p',
          '1',
          '--grub2',
          '--firmware',
          'uefi',
          '--kernel',
          '/boot/kernel.elf',
          '--kernel-file',
          kernel,
          '--timeout',
          '0',
          '--serial',
          '--json',
        )
      ).json();
      expect(result).toMatchObject({
        firmware: 'uefi',
        modules: 0,
        sectors: [],
        files: ['/EFI/BOOT/BOOTX64.EFI', '/boot/kernel.elf', '/boot/grub/grub.cfg'],
      });
      expect(result.core).toBeUndefined();
      // Type 0c, not ef: OVMF boots it, and the result says some firmware may not.
      expect(result.warnings.join()).toMatch(/not "EFI System"/);
      expect(readFileSync(img).subarray(0, 512).equals(sector0)).toBe(true);
      const part = join(dir, 'uefi-mbr.part');
      writeFileSync(part, readFileSync(img).subarray(2048 * 512));
      expect(fsck(runTool, part).problems).toEqual([]);
      expect(runToolOk('mdir', ['-/', '-b', '-i', part, '::/']).stdout).not.toMatch(/i386-pc/);
      const boot = await bootAndExpect(img, KERNEL_LINE, 60, '--uefi');
      expect(boot.matched, boot.output).toBe(true);
    },
    120_000,
  );

  it('refuses GRUB 2 for UEFI on ext2 (firmware reads only FAT), and names the package when the UEFI files are missing', async () => {
    const ext2 = await mbrDisk('uefi-ext2', 2048, 'ext2');
    await refused(ext2, ['-p', '1', '--grub2', '--firmware', 'uefi'], /UEFI firmware reads only FAT, and partition 1 is ext2.*type=esp/);
    await refused(ext2, ['-p', '1', '--grub2', '--firmware', 'both'], /UEFI firmware reads only FAT/);
    await refused(ext2, ['-p', '1', '--grub2', '--firmware', 'efi'], /--firmware is bios, uefi, both, not "efi"/, 2);
    const fat = await mbrDisk('uefi-nofiles', 2048, 'fat32');
    const saved = process.env.LOOPSTUDIO_GRUB2_EFI_DIR;
    process.env.LOOPSTUDIO_GRUB2_EFI_DIR = join(dir, 'no-grub-efi-here');
    try {
      const before = sha(fat);
      const run = await cli('bootloader', fat, '-p', '1', '--grub2', '--firmware', 'both', '--json');
      expect(run.json().error).toMatchObject({
        code: 'HOST_TOOL_MISSING',
        details: { installHint: 'sudo apt install --no-install-recommends grub-efi-amd64-bin' },
      });
      expect(sha(fat)).toBe(before);
    } finally {
      if (saved === undefined) delete process.env.LOOPSTUDIO_GRUB2_EFI_DIR;
      else process.env.LOOPSTUDIO_GRUB2_EFI_DIR = saved;
    }
  }, 60_000);

  it('your boot sector (a two-sector stage) over an MBR disk keeps its disk signature and partition table, and boots', async () => {
    const img = await mbrDisk('bootsector-mbr', 2048, 'fat32');
    const before = readFileSync(img).subarray(440, 510);
    const tableBefore = sfdiskTable(img);
    const stage = join(dir, 'stage.bin');
    const second = Buffer.alloc(512, 0x5a);
    writeFileSync(stage, Buffer.concat([readFileSync(bootSector), second]));
    const result = (await cliOk('bootloader', img, '--boot-sector', stage, '--json')).json();
    expect(result.sectors).toEqual([expect.objectContaining({ sector: 0, count: 1 }), expect.objectContaining({ sector: 1, count: 1 })]);
    const after = readFileSync(img);
    expect(after.subarray(440, 510).equals(before)).toBe(true);
    expect(after.subarray(0, 440).equals(readFileSync(bootSector).subarray(0, 440))).toBe(true);
    expect(after.subarray(512, 1024).equals(second)).toBe(true);
    expect(sfdiskTable(img)).toEqual(tableBefore);
    expect((await bootAndExpect(img, BOOT_SECTOR_LINE)).matched).toBe(true);
  }, 60_000);

  it('refuses a boot sector without 55 AA unless forced, and a longer stage that would overwrite the FAT', async () => {
    const floppy = image('bs-floppy');
    await cliOk('create', floppy, '--floppy', '1.44M');
    await cliOk('format', floppy, '--fs', 'fat12');
    const unsigned = join(dir, 'unsigned.bin');
    writeFileSync(unsigned, Buffer.alloc(512, 0xf4));
    await refused(floppy, ['--boot-sector', unsigned], /does not end in 55 AA.*force it/);
    const twoSectors = join(dir, 'two.bin');
    writeFileSync(twoSectors, Buffer.concat([readFileSync(bootSector), Buffer.alloc(512, 0x90)]));
    await refused(
      floppy,
      ['--boot-sector', twoSectors],
      /is 2 sectors: sector 0 and 1 more, but only 0 sectors after sector 0 are free before the first FAT \(sector 1\)/,
    );
    await cliOk('bootloader', floppy, '--boot-sector', unsigned, '--force');
    expect(fsck(runTool, floppy).problems).toEqual([]);
  }, 60_000);

  it('says which boot loader is missing or doubled (usage errors, exit 2)', async () => {
    const img = image('usage');
    await cliOk('create', img, '--floppy', '1.44M');
    expect((await cli('bootloader', img)).stderr).toMatch(/exactly one of --grub2, --grub-legacy, --boot-sector/);
    const both = await cli('bootloader', img, '--grub2', '--grub-legacy');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/got --grub2 and --grub-legacy/);
    expect((await cli('bootloader', img, '--grub2', '--cmdline', 'x')).stderr).toMatch(
      /--cmdline describe the menu entry: give --kernel PATH too/,
    );
  });

  it("--help says --module is a Linux entry's initrd line; --initrd names it so, for Linux entries only", async () => {
    const help = (await cliOk('bootloader', '--help')).stdout;
    expect(help).toContain('[--initrd /boot/initrd.gz]…');
    expect(help).toMatch(
      /--module PATH\[ ARGS\]\s+a multiboot module .*\n.*for a Linux entry \(--kernel-type linux\) it becomes the `initrd` line\./,
    );
    expect(help).toContain("--initrd PATH         a Linux entry's initrd image (the `initrd` line;");
    const img = await mbrDisk('initrd', 2048, 'ext2');
    writeFileSync(join(dir, 'vmlinuz'), 'not a real kernel: GRUB only needs the file to be there');
    writeFileSync(join(dir, 'initrd.gz'), 'nor a real initrd');
    await cliOk('put', img, '-p', '1', '--parents', join(dir, 'initrd.gz'), '/boot/initrd.gz');
    await cliOk(
      'bootloader',
      img,
      '-p',
      '1',
      '--grub2',
      '--kernel',
      '/boot/vmlinuz',
      '--kernel-file',
      join(dir, 'vmlinuz'),
      '--kernel-type',
      'linux',
      '--cmdline',
      'console=ttyS0',
      '--initrd',
      '/boot/initrd.gz',
      '--title',
      'Linux',
    );
    const cfg = (await cliOk('get', img, '-p', '1', '/boot/grub/grub.cfg', '-')).stdoutBytes!.toString('utf8');
    expect(cfg).toContain(
      'menuentry Linux {\n\tinsmod part_msdos\n\tinsmod ext2\n\tinsmod linux\n\tlinux /boot/vmlinuz console=ttyS0\n\tinitrd /boot/initrd.gz\n\tboot\n}\n',
    );
    const multiboot = await cli('bootloader', img, '-p', '1', '--grub2', '--kernel', '/boot/vmlinuz', '--initrd', '/boot/initrd.gz');
    expect(multiboot.code).toBe(2);
    expect(multiboot.stderr).toContain(
      '--initrd is for Linux entries (--kernel-type linux); a multiboot kernel takes its files as --module "PATH ARGS"',
    );
  });
});
