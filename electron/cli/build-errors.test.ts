/**
 * Bad recipes, refused before anything is written: each error names the recipe field or the file,
 * no image appears, and an image already at the output stays byte for byte as it was. Also the
 * contract's recipe and bootloader methods, through the same dispatch the app and harness use.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grubLegacyMissing } from '../../tests/support/boot';
import { cli, cliOk } from '../../tests/support/cli';
import { missingTools, runToolOk, tempDir } from '../../tests/support/host';
import { buildTestKernel, testProgramsMissing } from '../../tests/support/test-kernel';
import { createServices, dispatch } from '../services';

const EXAMPLES = join(__dirname, '../../examples');
const skip = testProgramsMissing() ?? missingTools('grub-mkimage');
const noLegacy = grubLegacyMissing();

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('loopstudio-badrecipes-'));
  if (!skip) buildTestKernel(dir);
});
afterAll(() => cleanup());

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** An example recipe, changed by `edit`, written beside the kernel; returns its path. */
function recipe(example: string, name: string, edit: (r: any) => void): string {
  const document = JSON.parse(readFileSync(join(EXAMPLES, example), 'utf8'));
  edit(document);
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(document, null, 2));
  return path;
}

/** Builds `path` to `name`.img, expects the error, and no image (nor a temporary one) left behind. */
async function refusedBuild(path: string, message: RegExp, code: string): Promise<void> {
  const out = join(dir, `${Date.now()}-${Math.random().toString(36).slice(2)}.img`);
  const run = await cli('build', path, '-o', out, '--json');
  expect(run.code).not.toBe(0);
  const error = run.json().error;
  expect(error.message).toMatch(message);
  expect(error.code).toBe(code);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(dir).filter((n) => n.includes('.building-'))).toEqual([]);
}

describe.skipIf(skip)(`bad recipes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('an unknown field: named with its path, exit 2', async () => {
    const path = recipe('disk-fat32-grub2.json', 'unknown-field', (r) => (r.partitions[0].filesystem.lable = 'X'));
    await refusedBuild(path, /partitions\[0\]\.filesystem\.lable: unknown field/, 'INVALID_INPUT');
    expect((await cli('build', path)).code).toBe(2);
  });

  it('files that do not fit: the size field, the needed and the available bytes', async () => {
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(1_600_000, 1));
    const path = recipe('floppy-ext2-grub-legacy.json', 'too-small', (r) => r.files.push({ from: 'big.bin', to: '/big.bin' }));
    await refusedBuild(
      path,
      /^image\.floppy: the image \(1\.41 MiB, EXT2\) holds [\d.]+ MiB of files, but what goes into it needs at least [\d.]+ MiB \(largest: \/big\.bin/,
      'VALIDATION',
    );
    const disk = recipe('disk-ext2-grub2-sector63.json', 'too-small-disk', (r) => (r.partitions[0].size = 4000));
    await refusedBuild(disk, /^partitions\[0\]\.size: partition 1 \(1\.95 MiB, EXT2\).*GRUB 2's \d+ modules/, 'VALIDATION');
  });

  it('a kernel file that is missing, and a menu kernel no file provides', async () => {
    await refusedBuild(
      recipe('disk-fat32-grub2.json', 'no-kernel', (r) => (r.files[0].from = 'missing-kernel.elf')),
      /^files\[0\]\.from: .*missing-kernel\.elf does not exist/,
      'NOT_FOUND',
    );
    await refusedBuild(
      recipe('disk-fat32-grub2.json', 'menu-kernel', (r) => (r.bootloader.menu.entries[0].kernel = '/boot/other.elf')),
      /^bootloader\.menu\.entries\[0\]\.kernel: \/boot\/other\.elf is not copied into partition 1 by any files\[\] entry/,
      'NOT_FOUND',
    );
  });

  it('GRUB 2 for UEFI on an ext2 partition: the firmware field, before anything is written', async () => {
    await refusedBuild(
      recipe('disk-ext2-grub2-sector63.json', 'uefi-ext2', (r) => (r.bootloader.grub2.firmware = 'uefi')),
      /^bootloader\.grub2\.firmware: UEFI firmware reads only FAT, and partition 1 is ext2/,
      'VALIDATION',
    );
    await refusedBuild(
      recipe('disk-fat32-grub2.json', 'uefi-typo', (r) => (r.bootloader.grub2.firmware = 'efi')),
      /^The recipe is not valid:\nbootloader\.grub2\.firmware: bios, uefi or both/,
      'INVALID_INPUT',
    );
  });

  it('GRUB files missing: a stage folder that does not exist, or no GRUB 2 where LOOPSTUDIO_GRUB2_DIR says', async () => {
    await refusedBuild(
      recipe('floppy-fat12-grub-legacy.json', 'no-stages', (r) => (r.bootloader.grubLegacy.stageDir = '/nonexistent')),
      /^bootloader\.grubLegacy\.stageDir: GRUB legacy's stage1 and stage2 are not in \/nonexistent/,
      'HOST_TOOL_MISSING',
    );
    const saved = process.env.LOOPSTUDIO_GRUB2_DIR;
    process.env.LOOPSTUDIO_GRUB2_DIR = join(dir, 'no-grub-here');
    try {
      await refusedBuild(
        recipe('disk-fat32-grub2.json', 'no-grub2', () => {}),
        /^bootloader\.grub2: GRUB 2's BIOS files .* are not in .*no-grub-here\. Install them: sudo apt install grub-common grub-pc-bin/,
        'HOST_TOOL_MISSING',
      );
    } finally {
      if (saved === undefined) delete process.env.LOOPSTUDIO_GRUB2_DIR;
      else process.env.LOOPSTUDIO_GRUB2_DIR = saved;
    }
  });

  it('GRUB 2 checks: core.img too big for the gap at sector 63, GPT without a BIOS boot partition', async () => {
    await refusedBuild(
      recipe('disk-ext2-grub2-sector63.json', 'gap', (r) => (r.bootloader.grub2.coreModules = ['multiboot'])),
      /^bootloader\.grub2\.coreModules: core\.img is .* holds 62 sectors/,
      'VALIDATION',
    );
    await refusedBuild(
      recipe('disk-fat32-grub2.json', 'gpt', (r) => (r.table = 'gpt')),
      /^bootloader\.grub2: This GPT disk has no BIOS boot partition/,
      'VALIDATION',
    );
  });

  it.skipIf(noLegacy)(
    'an existing image is left as it is: refused without --force, and unchanged when a forced build fails',
    async () => {
      const good = recipe('floppy-fat12-grub-legacy.json', 'good', () => {});
      const out = join(dir, 'existing.img');
      await cliOk('build', good, '-o', out);
      const before = sha(out);
      const again = await cli('build', good, '-o', out);
      expect(again.stderr).toMatch(/already exists; pass --force/);
      const bad = recipe('floppy-fat12-grub-legacy.json', 'bad-forced', (r) => (r.files[0].from = 'nothing.elf'));
      expect((await cli('build', bad, '-o', out, '--force')).code).toBe(1);
      expect(sha(out)).toBe(before);
      await cliOk('build', good, '-o', out, '--force');
      expect(sha(out)).not.toBe(before);
    },
    30_000,
  );

  it('--check validates without writing; the contract’s recipe.validate answers the script too', async () => {
    const path = recipe('disk-fat32-grub2.json', 'check', () => {});
    const checked = (await cliOk('build', path, '--check', '--json')).json();
    expect(checked).toMatchObject({ table: 'mbr', bootloader: 'grub2', volumes: [{ partition: 1, fs: 'fat32', startSector: 2048 }] });
    expect(existsSync(path.replace(/\.json$/, '.img'))).toBe(false);
    const { handlers } = createServices({ shell: 'cli', emit: () => {} });
    const validated = await dispatch(handlers, 'recipe.validate', { path });
    expect(validated.ok).toBe(true);
    expect((validated as { value: { script: string } }).value.script).toMatch(/^grub-mkimage /m);
    const bad = await dispatch(handlers, 'recipe.validate', {
      path: recipe('disk-fat32-grub2.json', 'contract-bad', (r) => (r.image.size = 'big')),
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect((bad as { error: { message: string } }).error.message).toMatch(/^image\.size: /);
    const mixed = await dispatch(handlers, 'bootloader.install', { path: '/x.img', loader: 'grub2', stageDir: '/usr/lib/grub/x86_64-pc' });
    expect(mixed).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect((mixed as { error: { message: string } }).error.message).toMatch(/stageDir: is for grub-legacy only/);
  });

  it('recipe.save: checked by the schema first, never over an existing file, host paths in its folder made relative', async () => {
    const { handlers } = createServices({ shell: 'cli', emit: () => {} });
    const path = join(dir, 'saved.json');
    const document = {
      image: { floppy: '1.44M' },
      filesystem: { type: 'fat12' },
      files: [{ from: join(dir, 'kernel.elf'), to: '/boot/kernel.elf' }],
      bootloader: { grubLegacy: {} },
    };
    const bad = await dispatch(handlers, 'recipe.save', { path, recipe: { ...document, image: { floppy: '1.44M', size: '2M' } } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect((bad as { error: { message: string } }).error.message).toMatch(/image: give exactly one of floppy, size, chs/);
    expect(existsSync(path)).toBe(false);
    expect(await dispatch(handlers, 'recipe.save', { path, recipe: document })).toMatchObject({ ok: true, value: { path } });
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    expect(saved.files).toEqual([{ from: 'kernel.elf', to: '/boot/kernel.elf' }]);
    const before = sha(path);
    expect(await dispatch(handlers, 'recipe.save', { path, recipe: { ...document, filesystem: { type: 'ext2' } } })).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_EXISTS' },
    });
    expect(sha(path)).toBe(before);
    expect(readdirSync(dir).filter((n) => n.includes('.saving-'))).toEqual([]);
    // What it saved builds.
    await cliOk('build', path, '-o', join(dir, 'saved.img'));
    expect(existsSync(join(dir, 'saved.img'))).toBe(true);
  });
});

describe.skipIf(missingTools('sfdisk'))('partition types in recipes', () => {
  it('keeps a type the recipe names, and matches the filesystem when it names none', async () => {
    const { runToolOk } = await import('../../tests/support/host');
    const typeOf = (image: string) => JSON.parse(runToolOk('sfdisk', ['--json', image]).stdout).partitiontable.partitions[0].type;
    const write = (name: string, partition: Record<string, unknown>) => {
      const path = join(dir, `${name}.json`);
      writeFileSync(
        path,
        JSON.stringify({
          image: { size: '40M' },
          table: 'mbr',
          partitions: [{ start: 2048, size: 'rest', ...partition, filesystem: { type: 'fat32' } }],
        }),
      );
      return path;
    };
    const named = join(dir, 'named-type.img');
    await cliOk('build', write('named-type', { type: '0c' }), '-o', named);
    expect(typeOf(named)).toBe('c');
    const unnamed = join(dir, 'unnamed-type.img');
    await cliOk('build', write('unnamed-type', {}), '-o', unnamed);
    // The type the recipe's filesystem gives (0c, FAT32 LBA) already says FAT32: format keeps it.
    expect(typeOf(unnamed)).toBe('c');
    // A type that does not say FAT32 ("linux" is 83) is kept too, when the recipe names it.
    const linux = join(dir, 'linux-type.img');
    await cliOk('build', write('linux-type', { type: 'linux' }), '-o', linux);
    expect(typeOf(linux)).toBe('83');
  });

  it('a recipe reads only its own folder: /etc/passwd, ../ and links out of it are refused unless allowed', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'loopstudio-outside-'));
    try {
      writeFileSync(join(outside, 'secret.txt'), 'not for the image\n');
      const secret = join(outside, 'secret.txt');
      await refusedBuild(
        recipe('floppy-fat12-grub-legacy.json', 'abs-source', (r) => r.files.push({ from: '/etc/passwd', to: '/passwd' })),
        /^files\[1\]\.from: \/etc\/passwd is outside the recipe's folder .*--allow-outside \/etc/,
        'FORBIDDEN',
      );
      await refusedBuild(
        recipe('floppy-fat12-grub-legacy.json', 'dotdot-source', (r) =>
          r.files.push({ from: `../${basename(outside)}/secret.txt`, to: '/s.txt' }),
        ),
        /^files\[1\]\.from: .*is outside the recipe's folder/,
        'FORBIDDEN',
      );
      // A link inside the folder that points out of it is followed to its real place, and refused.
      symlinkSync(secret, join(dir, 'innocent.txt'));
      await refusedBuild(
        recipe('floppy-fat12-grub-legacy.json', 'link-source', (r) => r.files.push({ from: 'innocent.txt', to: '/i.txt' })),
        /innocent\.txt \(really .*secret\.txt\) is outside/,
        'FORBIDDEN',
      );
      // The user may allow it.
      const allowedRecipe = recipe('floppy-fat12-grub-legacy.json', 'allowed-source', (r) => r.files.push({ from: secret, to: '/s.txt' }));
      const image = join(dir, 'allowed.img');
      await cliOk('build', allowedRecipe, '-o', image, '--allow-outside', outside);
      expect(runToolOk('mtype', ['-i', image, '::/s.txt']).stdout).toBe('not for the image\n');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('a folder copied onto FAT skips links that lead out of the recipe’s folder (ext2 keeps them as links)', async () => {
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'kept.txt'), 'kept\n');
    symlinkSync('/etc/hostname', join(tree, 'host-link'));
    symlinkSync('kept.txt', join(tree, 'inner-link'));
    const fat = recipe('floppy-fat12-grub-legacy.json', 'tree-fat', (r) => r.files.push({ from: 'tree', to: '/tree' }));
    const fatImage = join(dir, 'tree-fat.img');
    const built = (await cliOk('build', fat, '-o', fatImage, '--json')).json();
    expect(built.skipped).toEqual([
      { path: join(tree, 'host-link'), reason: expect.stringContaining('outside the folders a recipe may copy from') },
    ]);
    expect(runToolOk('mdir', ['-b', '-i', fatImage, '::/tree']).stdout.split('\n').filter(Boolean).sort()).toEqual([
      '::/tree/inner-link',
      '::/tree/kept.txt',
    ]);
    const ext2 = recipe('floppy-ext2-grub-legacy.json', 'tree-ext2', (r) => r.files.push({ from: 'tree', to: '/tree' }));
    const ext2Image = join(dir, 'tree-ext2.img');
    await cliOk('build', ext2, '-o', ext2Image);
    expect(runToolOk('debugfs', ['-R', 'stat /tree/host-link', ext2Image]).stdout).toMatch(
      /Type: symlink[\s\S]*Fast link dest: "\/etc\/hostname"/,
    );
  });
});
