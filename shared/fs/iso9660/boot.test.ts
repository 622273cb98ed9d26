/**
 * Bootable ISO images: El Torito (BIOS and UEFI entries, boot-info-table) and GRUB's hybrid MBR,
 * checked three ways:
 * - xorriso reports what it sees (`-report_el_torito plain`, `-report_system_area plain`), and
 *   isoinfo and sfdisk read the catalog and the partition table;
 * - our encoders, given the block numbers of an image xorriso made with grub-mkrescue's options
 *   from the same files, produce xorriso's bytes exactly (catalog, MBR, patched boot image);
 * - QEMU boots the image to the test kernel's serial line: as a CD with SeaBIOS and with OVMF,
 *   and as a hard disk (the hybrid MBR) with SeaBIOS and with OVMF.
 */
import { existsSync, readFileSync, writeFileSync, truncateSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { findUefiFirmware } from '../../../electron/platform/qemu';
import { uefiBootMissing } from '../../../tests/support/boot';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { buildTestKernel, KERNEL_LINE, testProgramsMissing } from '../../../tests/support/test-kernel';
import { encodeHybridMbr, GRUB2_BOOT_INFO_OFFSET, patchGrub2BootInfo } from '../../boot/grub2-iso';
import { grubCfg } from '../../boot/menu';
import { MemoryBlockDevice } from '../../disk/block-device';
import { formatFat, openFat } from '../fat/index';
import { encodeBootCatalog, patchBootInfoTable, PLATFORM_ID } from './el-torito';
import { openIso9660, planIso, writeIso, type IsoEntry, type IsoOptions, type IsoPlan } from './index';
import { patternBytes } from './test-support';

const BOOT_HYBRID = '/usr/lib/grub/i386-pc/boot_hybrid.img';
const grubMissing =
  missingTools('grub-mkimage', 'xorriso', 'isoinfo', 'sfdisk') ??
  (existsSync(BOOT_HYBRID) && existsSync('/usr/lib/grub/i386-pc/moddep.lst') ? null : 'GRUB 2 for BIOS (grub-pc-bin) is not installed');
const uefiGrubMissing = existsSync('/usr/lib/grub/x86_64-efi/moddep.lst') ? null : 'GRUB 2 for UEFI (grub-efi-amd64-bin) is not installed';
const qemuMissing = testProgramsMissing() ?? missingTools('qemu-system-x86_64');
const title = (name: string, reason: string | null) => (reason ? `${name} (skipped: ${reason})` : name);

const DATE = Date.UTC(2024, 0, 2, 3, 4, 5);
const ESP_BYTES = 4 * 1024 * 1024;

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('iso-boot-')));
afterAll(() => cleanup());
let counter = 0;

interface GrubFiles {
  eltorito: Uint8Array;
  bootHybrid: Uint8Array;
  /** A FAT image with /EFI/BOOT/BOOTX64.EFI, or null without GRUB for UEFI. */
  esp: Uint8Array | null;
  kernel: Uint8Array;
  grubCfg: Uint8Array;
}

let grubFiles: GrubFiles | null = null;

/** GRUB's BIOS El Torito image, its UEFI application in a FAT image made by our FAT writer, the test kernel and a menu. */
async function grub(): Promise<GrubFiles> {
  if (grubFiles) return grubFiles;
  const eltorito = join(dir, 'eltorito.img');
  // As grub-mkrescue does (-O i386-pc-eltorito, prefix /boot/grub), with the modules the menu needs built in.
  const modules = ['biosdisk', 'iso9660', 'part_msdos', 'normal', 'configfile', 'multiboot', 'serial', 'terminal'];
  runToolOk('grub-mkimage', ['-O', 'i386-pc-eltorito', '-p', '/boot/grub', '-o', eltorito, ...modules]);
  let esp: Uint8Array | null = null;
  if (!uefiGrubMissing) {
    const early = join(dir, 'early.cfg');
    writeFileSync(early, 'search --no-floppy --file --set=root /boot/grub/grub.cfg\nset prefix=($root)/boot/grub\n');
    const efi = join(dir, 'BOOTX64.EFI');
    runToolOk('grub-mkimage', [
      '-O',
      'x86_64-efi',
      '-p',
      '/boot/grub',
      '-c',
      early,
      '-o',
      efi,
      ...[
        'iso9660',
        'part_msdos',
        'part_gpt',
        'fat',
        'search',
        'search_fs_file',
        'normal',
        'configfile',
        'multiboot',
        'serial',
        'terminal',
      ],
    ]);
    const device = new MemoryBlockDevice(ESP_BYTES);
    await formatFat(device, { label: 'ESP', volumeId: 0x12345678 });
    const fat = await openFat(device);
    await fat.mkdir('/EFI/BOOT', { parents: true });
    await fat.writeFile('/EFI/BOOT/BOOTX64.EFI', readFileSync(efi), { modifiedMs: DATE });
    await fat.flush();
    esp = device.bytes;
  }
  const kernel = qemuMissing ? patternBytes(5000, 9) : readFileSync(buildTestKernel(dir));
  const cfg = grubCfg(
    { timeout: 0, default: 0, serial: true, entries: [{ title: 'test kernel', kernel: '/boot/kernel.elf', type: 'multiboot' }] },
    [],
  );
  grubFiles = {
    eltorito: readFileSync(eltorito),
    bootHybrid: readFileSync(BOOT_HYBRID),
    esp,
    kernel,
    grubCfg: new TextEncoder().encode(cfg),
  };
  return grubFiles;
}

function treeOf(files: GrubFiles): IsoEntry[] {
  return [
    { type: 'file', path: '/boot/grub/i386-pc/eltorito.img', content: files.eltorito },
    { type: 'file', path: '/boot/grub/grub.cfg', content: files.grubCfg },
    { type: 'file', path: '/boot/kernel.elf', content: files.kernel },
  ];
}

/** The grub-mkrescue layout: BIOS El Torito with both patches, EFI image appended as partition 2, GRUB's hybrid MBR. */
function rescueOptions(files: GrubFiles, withEfi: boolean): IsoOptions {
  return {
    dateMs: DATE,
    volumeIdentifier: 'MYOS',
    boot: {
      bios: { path: '/boot/grub/i386-pc/eltorito.img', loadSectors: 4, bootInfoTable: true, grub2BootInfo: true },
      ...(withEfi && files.esp ? { efi: { appended: files.esp } } : {}),
      catalogPath: '/boot.catalog',
      hybridMbr: { bootCode: files.bootHybrid },
    },
  };
}

async function writeImage(entries: IsoEntry[], options: IsoOptions): Promise<{ image: string; plan: IsoPlan }> {
  const plan = planIso(entries, options);
  const image = join(dir, `boot-${++counter}.iso`);
  writeFileSync(image, '');
  truncateSync(image, plan.sizeBytes);
  const device = await FileBlockDevice.open(image, { writable: true });
  try {
    await writeIso(plan, device);
    await device.flush();
  } finally {
    await device.close();
  }
  return { image, plan };
}

/** `xorriso -indev IMAGE -report_el_torito plain -report_system_area plain`, the report lines only. */
function xorrisoReport(image: string): string {
  return runToolOk('xorriso', ['-indev', image, '-report_el_torito', 'plain', '-report_system_area', 'plain']).stdout;
}

describe.skipIf(grubMissing)(title('El Torito and the hybrid MBR, as xorriso sees them', grubMissing), () => {
  it('xorriso lists the BIOS and UEFI boot images, with the options grub-mkrescue gives', async () => {
    const files = await grub();
    const { image, plan } = await writeImage(treeOf(files), rescueOptions(files, true));
    const report = xorrisoReport(image);
    const bios = plan.boot!.entries[0]!;
    expect(report).toMatch(new RegExp(`El Torito catalog\\s*:\\s*${plan.boot!.catalogBlock}\\s+1`));
    expect(report).toContain('El Torito cat path : /boot.catalog');
    expect(report).toMatch(new RegExp(`El Torito boot img :\\s+1\\s+BIOS\\s+y\\s+none\\s+0x0000\\s+0x00\\s+4\\s+${bios.loadRba}`));
    expect(report).toContain('El Torito img path :   1  /boot/grub/i386-pc/eltorito.img');
    expect(report).toContain('El Torito img opts :   1  boot-info-table grub2-boot-info');
    if (files.esp) {
      const efi = plan.boot!.entries[1]!;
      expect(efi.sectorCount).toBe(ESP_BYTES / 512);
      expect(report).toMatch(
        new RegExp(`El Torito boot img :\\s+2\\s+UEFI\\s+y\\s+none\\s+0x0000\\s+0x00\\s+${efi.sectorCount}\\s+${efi.loadRba}`),
      );
      expect(efi.loadRba).toBe(plan.appendedPartition!.startBlock);
    }
    expect(report).toContain('System area summary: MBR protective-msdos-label grub2-mbr');
    const isoSectors = (plan.appendedPartition?.startBlock ?? plan.volumeSpaceSize) * 4;
    expect(report).toMatch(new RegExp(`MBR partition\\s*:\\s+1\\s+0x80\\s+0xcd\\s+1\\s+${isoSectors - 1}`));
    if (files.esp) expect(report).toMatch(new RegExp(`MBR partition\\s*:\\s+2\\s+0x00\\s+0xef\\s+${isoSectors}\\s+${ESP_BYTES / 512}`));
  });

  it('isoinfo reads the catalog, sfdisk the partition table, and our reader both', async () => {
    const files = await grub();
    const { image, plan } = await writeImage(treeOf(files), rescueOptions(files, true));
    const d = runToolOk('isoinfo', ['-d', '-i', image]).stdout;
    expect(d).toContain(`El Torito VD version 1 found, boot catalog is in sector ${plan.boot!.catalogBlock}`);
    expect(d).toMatch(/Boot media 0 \(No Emulation Boot\)/);
    expect(d).toMatch(/Nsect 4/);
    const table = JSON.parse(runToolOk('sfdisk', ['--json', image]).stdout).partitiontable;
    expect(table.label).toBe('dos');
    const isoSectors = (plan.appendedPartition?.startBlock ?? plan.volumeSpaceSize) * 4;
    expect(table.partitions[0]).toMatchObject({ start: 1, size: isoSectors - 1, type: 'cd', bootable: true });
    if (files.esp) expect(table.partitions[1]).toMatchObject({ start: isoSectors, size: ESP_BYTES / 512, type: 'ef' });
    expect(runTool('sfdisk', ['--verify', image]).stdout).not.toMatch(/overlap/i);

    const device = await FileBlockDevice.open(image, { writable: false });
    try {
      const info = await (await openIso9660(device)).info();
      expect(info.bootCatalog!.entries[0]).toMatchObject({
        platform: 'bios',
        bootable: true,
        media: 'no emulation',
        sectorCount: 4,
        path: '/boot/grub/i386-pc/eltorito.img',
      });
      if (files.esp)
        expect(info.bootCatalog!.entries[1]).toMatchObject({ platform: 'efi', path: null, loadRba: plan.appendedPartition!.startBlock });
      expect(info.mbrPartitions![0]).toMatchObject({ number: 1, type: 0xcd, bootable: true, startSector: 1 });
      expect(info.sizeBytes).toBe(plan.sizeBytes);
    } finally {
      await device.close();
    }
  });

  it("our catalog, hybrid MBR and patched boot image equal xorriso's for xorriso's own layout", async () => {
    const files = await grub();
    // The tree grub-mkrescue hands xorriso, and its options (grub-mkrescue -v prints them),
    // with the EFI image appended as --protective-msdos-label's partition 2.
    const tree = join(dir, `tree-${++counter}`);
    runToolOk('mkdir', ['-p', join(tree, 'boot/grub/i386-pc')]);
    writeFileSync(join(tree, 'boot/grub/i386-pc/eltorito.img'), files.eltorito);
    writeFileSync(join(tree, 'boot/grub/grub.cfg'), files.grubCfg);
    writeFileSync(join(tree, 'boot/kernel.elf'), files.kernel);
    const esp = join(dir, 'efi.img');
    if (files.esp) writeFileSync(esp, files.esp);
    const theirs = join(dir, `xorriso-${counter}.iso`);
    runToolOk('xorriso', [
      ...['-as', 'mkisofs', '-o', theirs, '-r', '-J', '-V', 'MYOS'],
      ...['-b', 'boot/grub/i386-pc/eltorito.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', '--grub2-boot-info'],
      ...['--grub2-mbr', BOOT_HYBRID, '--protective-msdos-label'],
      ...(files.esp
        ? ['-append_partition', '2', '0xef', esp, '-eltorito-alt-boot', '-e', '--interval:appended_partition_2:all::', '-no-emul-boot']
        : []),
      tree,
    ]);
    const bytes = readFileSync(theirs);
    const device = new MemoryBlockDevice(new Uint8Array(bytes));
    const iso = await openIso9660(device);
    const info = await iso.info();
    const [bios, efi] = info.bootCatalog!.entries;
    expect(bios!.path).toBe('/boot/grub/i386-pc/eltorito.img');

    // The catalog.
    const catalog = encodeBootCatalog({
      platformId: PLATFORM_ID.X86,
      idString: '',
      entries: info.bootCatalog!.entries.map((e) => ({
        platformId: e.platform === 'bios' ? PLATFORM_ID.X86 : PLATFORM_ID.EFI,
        bootIndicator: 0x88,
        bootMediaType: 0,
        loadSegment: 0,
        systemType: 0,
        sectorCount: e.sectorCount,
        loadRba: e.loadRba,
      })),
    });
    expect(Buffer.from(catalog).equals(bytes.subarray(info.bootCatalog!.block * 2048, info.bootCatalog!.block * 2048 + 2048))).toBe(true);

    // The MBR: partition 1 up to the appended partition (or the end), partition 2 the ESP.
    const parts = info.mbrPartitions!;
    const mbr = encodeHybridMbr({
      bootCode: files.bootHybrid,
      bootImageBlock: bios!.loadRba,
      isoEndSector: parts[0]!.startSector + parts[0]!.sectorCount,
      ...(files.esp ? { esp: { startSector: efi!.loadRba * 4, sectorCount: parts[1]!.sectorCount } } : {}),
    });
    expect([...mbr]).toEqual([...bytes.subarray(0, 512)]);

    // The boot image: --grub2-boot-info, then -boot-info-table over the patched image.
    const patched = files.eltorito.slice();
    patchGrub2BootInfo(patched, bios!.loadRba);
    patchBootInfoTable(patched, { primaryVolumeDescriptorBlock: 16, bootFileBlock: bios!.loadRba });
    expect([...patched.subarray(0, 64)]).toEqual([...bytes.subarray(bios!.loadRba * 2048, bios!.loadRba * 2048 + 64)]);
    expect(Buffer.from(patched).equals(bytes.subarray(bios!.loadRba * 2048, bios!.loadRba * 2048 + patched.length))).toBe(true);
    expect(patched.length).toBeGreaterThan(GRUB2_BOOT_INFO_OFFSET);
  });

  it('an EFI image in the tree (xorriso -e PATH), and a custom BIOS image without patches', async () => {
    const files = await grub();
    const custom = patternBytes(2048, 3);
    const { image, plan } = await writeImage(
      [
        ...treeOf(files),
        { type: 'file', path: '/boot/custom.bin', content: custom },
        { type: 'file', path: '/efi.img', content: files.esp ?? patternBytes(8192, 4) },
      ],
      { dateMs: DATE, boot: { bios: { path: '/boot/custom.bin' }, efi: { path: '/efi.img' } } },
    );
    const report = xorrisoReport(image);
    expect(report).toContain('El Torito img path :   1  /boot/custom.bin');
    expect(report).toContain('El Torito img path :   2  /efi.img');
    expect(report).not.toContain('El Torito img opts');
    expect(report).not.toMatch(/MBR partition/);
    // Unpatched: the image on the disc is the file as given.
    const bytes = readFileSync(image);
    const block = plan.boot!.entries[0]!.loadRba;
    expect(Buffer.from(custom).equals(bytes.subarray(block * 2048, block * 2048 + 2048))).toBe(true);
  });

  it('refuses a hybrid MBR with the EFI image in the tree, or without a BIOS image', async () => {
    const files = await grub();
    expect(() =>
      planIso(treeOf(files), { dateMs: DATE, boot: { efi: { path: '/boot/kernel.elf' }, hybridMbr: { bootCode: files.bootHybrid } } }),
    ).toThrow(/set boot.bios too.*must be appended|must be appended.*set boot.bios too/s);
  });
});

// --- Booting ---

type Firmware = 'bios' | 'uefi';

/** Boots `image` as a CD or a hard disk; QEMU ends through isa-debug-exit once the kernel has printed. */
async function boot(image: string, as: 'cdrom' | 'disk', firmware: Firmware): Promise<string> {
  const serial = join(dir, `serial-${++counter}.txt`);
  const args = [
    '-m',
    '256',
    '-display',
    'none',
    '-serial',
    `file:${serial}`,
    '-no-reboot',
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ];
  args.push(...(as === 'cdrom' ? ['-cdrom', image, '-boot', 'd'] : ['-drive', `file=${image},format=raw,if=ide`, '-boot', 'c']));
  if (firmware === 'uefi') {
    const ovmf = await findUefiFirmware('debian');
    if (ovmf.kind === 'combined') args.push('-bios', ovmf.path);
    else {
      const vars = join(dir, `vars-${counter}.fd`);
      copyFileSync(ovmf.vars, vars);
      args.push('-drive', `if=pflash,format=raw,readonly=on,file=${ovmf.code}`, '-drive', `if=pflash,format=raw,file=${vars}`);
    }
  }
  runTool('timeout', ['90', 'qemu-system-x86_64', ...args]);
  return existsSync(serial) ? readFileSync(serial, 'utf8') : '';
}

const bootSkip = grubMissing ?? qemuMissing;
const uefiSkip = bootSkip ?? uefiGrubMissing ?? uefiBootMissing();

describe.skipIf(bootSkip)(title('the image boots the test kernel in QEMU', bootSkip), () => {
  let image: string;
  beforeAll(async () => {
    const files = await grub();
    ({ image } = await writeImage(treeOf(files), rescueOptions(files, true)));
  }, 60_000);

  it('as a CD with SeaBIOS (-cdrom)', async () => {
    expect(await boot(image, 'cdrom', 'bios')).toContain(KERNEL_LINE);
  }, 120_000);

  it('as a hard disk with SeaBIOS (-hda: the hybrid MBR)', async () => {
    expect(await boot(image, 'disk', 'bios')).toContain(KERNEL_LINE);
  }, 120_000);

  it.skipIf(uefiSkip)(
    title('as a CD with OVMF (-cdrom: the UEFI El Torito entry)', uefiSkip),
    async () => {
      expect(await boot(image, 'cdrom', 'uefi')).toContain(KERNEL_LINE);
    },
    120_000,
  );

  it.skipIf(uefiSkip)(
    title('as a hard disk with OVMF, through MBR partition 2 (type 0xEF) alone', uefiSkip),
    async () => {
      // OVMF also finds El Torito on a disk; spoil the boot record's identifier in a copy so only
      // the partition table can lead it to the ESP (the volume descriptor chain stays valid).
      const copy = join(dir, 'no-el-torito.iso');
      const bytes = readFileSync(image);
      bytes[17 * 2048 + 7] = 0x58;
      writeFileSync(copy, bytes);
      expect(await boot(copy, 'disk', 'uefi')).toContain(KERNEL_LINE);
    },
    120_000,
  );
});
