/**
 * Which boot code an image has, as `image.info` (and `loopstudio info --json`) reports it, on
 * images made by the host's tools (sfdisk, mkfs.fat, a NASM boot sector) and by our installers;
 * where GRUB 2's core.img is, checked against what the installer reported writing and against
 * the bytes on disk (boot.img's pointer, grub-mkimage's block list).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { grubLegacyMissing } from '../../tests/support/boot';
import { cliOk } from '../../tests/support/cli';
import { hasTool, runToolOk, tempDir } from '../../tests/support/host';
import { buildBootSector, testProgramsMissing } from '../../tests/support/test-kernel';
import type { BootCode } from './detect';

const haveGrub2 = existsSync('/usr/lib/grub/i386-pc/boot.img') && hasTool('grub-mkimage');

async function bootOf(image: string): Promise<BootCode> {
  return (await cliOk('info', image, '--json')).json().boot as BootCode;
}

describe('the boot code image.info reports', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-detect-')));
  afterEach(() => cleanup());

  it.skipIf(!hasTool('sfdisk'))('says none for a disk sfdisk partitioned (an empty MBR code area)', async () => {
    const image = join(dir, 'blank.img');
    runToolOk('truncate', ['-s', '8M', image]);
    runToolOk('sfdisk', ['--quiet', image], { input: 'label: dos\nstart=2048, type=83\n' });
    expect(await bootOf(image)).toEqual({ kind: 'none', description: 'none: no boot code in the MBR' });
    writeFileSync(join(dir, 'zero.img'), Buffer.alloc(1_474_560));
    expect((await bootOf(join(dir, 'zero.img'))).kind).toBe('none');
  });

  it.skipIf(!hasTool('mkfs.fat'))('says a floppy mkfs.fat formatted has only the “not a bootable disk” stub', async () => {
    const image = join(dir, 'floppy.img');
    runToolOk('mkfs.fat', ['-C', image, '1440']);
    expect(await bootOf(image)).toMatchObject({
      kind: 'not-bootable-stub',
      description: expect.stringMatching(/^none: .*not a bootable disk/),
    });
  });

  it.skipIf(!haveGrub2)('finds GRUB 2’s boot.img and the core.img it loads, where the installer wrote it', async () => {
    const image = join(dir, 'grub2.img');
    await cliOk('create', image, '--size', '64M');
    await cliOk('partition', image, '--table', 'mbr', '--align', '63', '--add', 'start=63,size=rest,type=83,bootable');
    await cliOk('format', image, '-p', '1', '--fs', 'ext2');
    const installed = (await cliOk('bootloader', image, '-p', '1', '--grub2', '--json')).json() as {
      sectors: { what: string; sector: number; count: number }[];
    };
    const core = installed.sectors.find((s) => /core\.img/.test(s.what))!;
    const boot = await bootOf(image);
    expect(boot).toMatchObject({ kind: 'grub2', core: { firstSector: core.sector, sectorCount: core.count } });
    expect(boot.description).toBe(
      `GRUB 2: boot.img in the MBR, core.img in sectors ${core.sector}–${core.sector + core.count - 1} (${((core.count * 512) / 1024).toString()} KiB)`,
    );
    // The bytes themselves: boot.img points at the core, the core's block list at its second sector.
    const bytes = readFileSync(image);
    expect(bytes.readBigUInt64LE(0x5c)).toBe(BigInt(core.sector));
    expect(bytes.readBigUInt64LE(core.sector * 512 + 0x1f4)).toBe(BigInt(core.sector + 1));
  });

  it.skipIf(!!grubLegacyMissing() || !hasTool('mkfs.fat'))('finds GRUB legacy’s stage1 and the sector of stage2', async () => {
    const image = join(dir, 'legacy.img');
    await cliOk('create', image, '--floppy', '1.44M');
    await cliOk('format', image, '--fs', 'fat12');
    const installed = (await cliOk('bootloader', image, '--grub-legacy', '--json')).json() as {
      sectors: { what: string; sector: number }[];
    };
    const stage2 = installed.sectors.find((s) => /stage2/.test(s.what))!;
    expect(await bootOf(image)).toEqual({
      kind: 'grub-legacy',
      description: `GRUB legacy: stage1 in sector 0, loading stage2 from sector ${stage2.sector}`,
      stage2Sector: stage2.sector,
    });
  });

  it.skipIf(!!testProgramsMissing() || !hasTool('mkfs.fat'))('calls a boot sector assembled with NASM the user’s own', async () => {
    const image = join(dir, 'own.img');
    await cliOk('create', image, '--floppy', '1.44M');
    await cliOk('format', image, '--fs', 'fat12');
    await cliOk('bootloader', image, '--boot-sector', buildBootSector(dir));
    expect(await bootOf(image)).toMatchObject({ kind: 'boot-sector', description: expect.stringMatching(/^a boot sector of your own/) });
  });
});
