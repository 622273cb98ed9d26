/**
 * `loopstudio build --print-commands`: the printed script is run with bash, as a person would,
 * and the image it makes is checked like the build's own (fsck, sfdisk) and booted the same way.
 * Printing writes nothing.
 */
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAndExpect, bootTestsMissing, grubLegacyMissing, grubUefiBootMissing } from '../../tests/support/boot';
import { cliOk } from '../../tests/support/cli';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { BOOT_SECTOR_LINE, buildBootSector, buildTestKernel, KERNEL_LINE } from '../../tests/support/test-kernel';
import { fsck } from '../../shared/fs/fat/test-support';

const EXAMPLES = join(__dirname, '../../examples');
const LOOPSTUDIO = join(__dirname, '../../bin/loopstudio.cjs');
const skip =
  bootTestsMissing() ??
  missingTools('bash', 'truncate', 'sfdisk', 'sgdisk', 'mkfs.fat', 'mke2fs', 'mcopy', 'mmd', 'grub-mkimage', 'fsck.fat', 'e2fsck', 'dd');
const noUefi = grubUefiBootMissing();
const noLegacy = grubLegacyMissing();

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('loopstudio-scripts-'));
  if (skip) return;
  buildTestKernel(dir);
  buildBootSector(dir);
  for (const name of readdirSync(EXAMPLES).filter((n) => n.endsWith('.json'))) copyFileSync(join(EXAMPLES, name), join(dir, name));
});
afterAll(() => cleanup());

/** Prints the example's script, runs it with bash into NAME.sh.img, and returns the image. */
async function runScript(name: string): Promise<{ image: string; script: string }> {
  const recipe = join(dir, `${name}.json`);
  const script = (await cliOk('build', recipe, '--print-commands')).stdout;
  expect(existsSync(join(dir, `${name}.img`))).toBe(false);
  const file = join(dir, `${name}.sh`);
  writeFileSync(file, script);
  const image = join(dir, `${name}.sh.img`);
  const run = runTool('bash', [file, image], { env: { LOOPSTUDIO: LOOPSTUDIO } });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stdout).toContain(`built ${image}`);
  return { image, script };
}

describe.skipIf(skip)(`the printed scripts run and make images that boot${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('disk-fat32-grub2: sfdisk, mkfs.fat --offset, mtools, grub-mkimage and dd', async () => {
    const { image, script } = await runScript('disk-fat32-grub2');
    expect(script).toMatch(/^sfdisk --quiet "\$IMG" <</m);
    expect(script).toMatch(/^mkfs\.fat -F 32 -n MYOS --offset 2048 -h 2048 "\$IMG" 64512$/m);
    expect(script).toMatch(
      /^grub-mkimage -d \/usr\/lib\/grub\/i386-pc -O i386-pc -p '\(hd0,msdos1\)\/boot\/grub' -o "\$WORK\/core\.img" biosdisk part_msdos fat$/m,
    );
    expect(runTool('sfdisk', ['-V', image]).status).toBe(0);
    const part = join(dir, 'fat32.part');
    runToolOk('dd', [`if=${image}`, `of=${part}`, 'bs=512', 'skip=2048', 'status=none']);
    expect(fsck(runTool, part).problems).toEqual([]);
    expect((await bootAndExpect(image, KERNEL_LINE)).matched).toBe(true);
  }, 60_000);

  it.skipIf(noLegacy)(
    'floppy-fat12-grub-legacy: mkfs.fat and mcopy, then loopstudio for the `setup` the 32-bit grub shell would do',
    async () => {
      const { image, script } = await runScript('floppy-fat12-grub-legacy');
      expect(script).toContain('setup (fd0)');
      expect(script).toMatch(/^"\$LOOPSTUDIO" bootloader "\$IMG" --grub-legacy --stage-dir /m);
      expect(fsck(runTool, image).problems).toEqual([]);
      expect((await bootAndExpect(image, KERNEL_LINE)).matched).toBe(true);
    },
    60_000,
  );

  it.skipIf(noLegacy)(
    'floppy-ext2-grub-legacy: mke2fs -d with the staged files',
    async () => {
      const { image, script } = await runScript('floppy-ext2-grub-legacy');
      expect(script).toMatch(/^mke2fs -q -F -t ext2 .* -d "\$WORK\/disk" "\$IMG" 1440k$/m);
      expect(runTool('e2fsck', ['-fn', image]).status).toBe(0);
      expect((await bootAndExpect(image, KERNEL_LINE)).matched).toBe(true);
    },
    60_000,
  );

  it('disk-ext2-grub2-sector63: mke2fs -E offset=32256', async () => {
    const { image, script } = await runScript('disk-ext2-grub2-sector63');
    expect(script).toContain('-E offset=32256');
    const part = join(dir, 'ext2.part');
    runToolOk('dd', [`if=${image}`, `of=${part}`, 'bs=512', 'skip=63', 'status=none']);
    expect(runTool('e2fsck', ['-fn', part]).status).toBe(0);
    expect((await bootAndExpect(image, KERNEL_LINE)).matched).toBe(true);
  }, 60_000);

  it('a GPT disk: core.img in the BIOS boot partition, its block list and boot.img patched by the script too (sgdisk -v clean)', async () => {
    const recipe = {
      image: { size: '64M' },
      table: 'gpt',
      partitions: [
        { start: 34, size: 2014, type: 'bios' },
        { start: 2048, size: 'rest', name: 'boot', filesystem: { type: 'fat32', label: 'MYOS' } },
      ],
      files: [{ from: 'kernel.elf', to: '/boot/' }],
      bootloader: { grub2: {}, menu: { timeout: 0, serial: true, entries: [{ title: 'GPT', kernel: '/boot/kernel.elf' }] } },
    };
    writeFileSync(join(dir, 'gpt.json'), JSON.stringify(recipe));
    const { image, script } = await runScript('gpt');
    expect(script).toMatch(/^first-lba: 34$/m);
    expect(script).toMatch(/^poke_le64 "\$WORK\/core\.img" 500 35$/m);
    expect(script).toMatch(/^poke_le64 "\$IMG" 92 34 /m);
    expect(runToolOk('sgdisk', ['-v', image]).stdout).toMatch(/No problems found/);
    expect((await bootAndExpect(image, KERNEL_LINE)).matched).toBe(true);
  }, 60_000);

  it.skipIf(noUefi)(
    'disk-gpt-grub2-uefi-bios: grub-mkimage -O x86_64-efi and mcopy to /EFI/BOOT; the image boots in OVMF',
    async () => {
      const { image, script } = await runScript('disk-gpt-grub2-uefi-bios');
      expect(script).toMatch(/^grub-mkimage -d \S+x86_64-efi -O x86_64-efi -p \/boot\/grub -o "\$WORK\/BOOTX64\.EFI" part_gpt /m);
      expect(script).toMatch(/^mcopy -o -i "\$IMG@@\d+" "\$WORK\/BOOTX64\.EFI" ::\/EFI\/BOOT\/BOOTX64\.EFI$/m);
      expect(runToolOk('sgdisk', ['-v', image]).stdout).toMatch(/No problems found/);
      const boot = await bootAndExpect(image, KERNEL_LINE, 60, '--uefi');
      expect(boot.matched, boot.output).toBe(true);
    },
    120_000,
  );

  it('floppy-boot-sector: dd around the BPB', async () => {
    const { image, script } = await runScript('floppy-boot-sector');
    expect(script).toMatch(/skip=0 seek=0 count=3 /);
    expect(script).toMatch(/skip=62 seek=62 count=450 /);
    expect(fsck(runTool, image).problems).toEqual([]);
    expect((await bootAndExpect(image, BOOT_SECTOR_LINE)).matched).toBe(true);
  }, 60_000);
});
