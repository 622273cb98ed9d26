/**
 * Incremental rebuilds (issue 15), checked against a fresh build and the host's tools: after 50
 * random changes to a recipe's sources (a kernel that grows and shrinks, files added, changed,
 * touched and removed, folders emptied, the menu edited, ext2 modes and links), each image is
 * fsck-clean (fsck.fat -n, e2fsck -fn) and holds exactly what a fresh `build` of the same recipe
 * holds, as mtools and debugfs extract it; a stale or missing build state means a full build,
 * never a wrong image.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAndExpect, bootTestsMissing, grubLegacyMissing } from '../../tests/support/boot';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { buildTestKernel } from '../../tests/support/test-kernel';
import { buildRecipe } from './recipes';
import { prepareUpdate, statePath, updateImage } from './rebuild';

const skip = missingTools('fsck.fat', 'e2fsck', 'mcopy', 'debugfs', 'nasm', 'ld') ?? grubLegacyMissing();

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('loopstudio-rebuild-')));
afterAll(() => cleanup());

/** A small seeded generator: the same 50 changes on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A folder's tree: path → kind, content hash, mode, link target. */
function tree(root: string, withModes: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string, rel: string) => {
    for (const name of readdirSync(at).sort()) {
      if (name === 'lost+found' && rel === '') continue;
      const path = join(at, name);
      const key = `${rel}/${name}`;
      const st = lstatSync(path);
      const mode = withModes ? ` ${(st.mode & 0o7777).toString(8)}` : '';
      if (st.isSymbolicLink()) out[key] = `link ${readlinkSync(path)}`;
      else if (st.isDirectory()) {
        out[key] = `dir${mode}`;
        walk(path, key);
      } else out[key] = `file ${sha(readFileSync(path))}${mode}`;
    }
  };
  walk(root, '');
  // stage2 holds its own block list: where it lies in this image (the boot test checks it).
  if (out['/boot/grub/stage2']) out['/boot/grub/stage2'] = 'stage2';
  return out;
}

/** The volume as a file of its own (the fsck tools and debugfs take no offset). */
function volumeFile(image: string, offsetBytes: number): string {
  if (offsetBytes === 0) return image;
  const out = `${image}.volume`;
  writeFileSync(out, readFileSync(image).subarray(offsetBytes));
  return out;
}

/** What the volume holds, as the host's tools extract it (mtools for FAT, debugfs for ext2). */
function extracted(image: string, fs: 'fat' | 'ext2', name: string, offsetBytes = 0): Record<string, string> {
  const out = join(dir, `x-${name}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  if (fs === 'fat') runToolOk('mcopy', ['-s', '-n', '-m', '-i', offsetBytes ? `${image}@@${offsetBytes}` : image, '::/*', out]);
  else runToolOk('debugfs', ['-R', `rdump / ${out}`, volumeFile(image, offsetBytes)]);
  return tree(out, fs === 'ext2');
}

function checkFs(whole: string, fs: 'fat' | 'ext2', offsetBytes = 0): void {
  const image = volumeFile(whole, offsetBytes);
  const run = fs === 'fat' ? runTool('fsck.fat', ['-n', image]) : runTool('e2fsck', ['-fn', image]);
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  if (fs === 'fat') expect(run.stdout).not.toMatch(/(differ|Free cluster summary wrong|Reclaimed|lost|Orphan)/i);
}

interface Case {
  name: string;
  fs: 'fat' | 'ext2';
  recipe: (kernel: string) => object;
  /** Where the volume starts in the image. */
  offsetBytes?: number;
  skip?: string | null;
}

const menu = (title: string) => ({ timeout: 0, serial: true, entries: [{ title, kernel: '/boot/kernel.elf', type: 'multiboot' }] });

const CASES: Case[] = [
  {
    name: 'fat12-floppy',
    fs: 'fat',
    recipe: () => ({
      image: { floppy: '1.44M' },
      filesystem: { type: 'fat12' },
      files: [
        { from: 'kernel.elf', to: '/boot/kernel.elf' },
        { from: 'tree', to: '/data' },
      ],
      bootloader: { grubLegacy: {}, menu: menu('one') },
    }),
  },
  {
    name: 'ext2-floppy',
    fs: 'ext2',
    recipe: () => ({
      image: { floppy: '1.44M' },
      filesystem: { type: 'ext2', blockSize: 1024 },
      files: [
        { from: 'kernel.elf', to: '/boot/kernel.elf' },
        { from: 'tree', to: '/data' },
      ],
      bootloader: { grubLegacy: {}, menu: menu('one') },
    }),
  },
  {
    name: 'fat32-disk-grub2',
    fs: 'fat',
    offsetBytes: 2048 * 512,
    skip: missingTools('grub-mkimage'),
    recipe: () => ({
      image: { size: '64M' },
      table: 'mbr',
      partitions: [{ start: 2048, size: 'rest', bootable: true, filesystem: { type: 'fat32' } }],
      files: [
        { from: 'kernel.elf', to: '/boot/kernel.elf' },
        { from: 'tree', to: '/data' },
      ],
      bootloader: { grub2: {}, menu: menu('one') },
    }),
  },
];

describe.skipIf(skip)(`incremental rebuilds${skip ? ` (skipped: ${skip})` : ''}`, () => {
  for (const c of CASES) {
    it.skipIf(c.skip)(
      `${c.name}: 50 random changes later the image is fsck-clean and holds what a fresh build holds`,
      async () => {
        const base = join(dir, c.name);
        mkdirSync(join(base, 'tree/sub'), { recursive: true });
        buildTestKernel(base);
        writeFileSync(join(base, 'tree/a.txt'), 'first\n');
        const recipe = join(base, 'recipe.json');
        const doc = c.recipe('kernel.elf') as { bootloader: { menu: { timeout: number; entries: { title: string }[] } } };
        writeFileSync(recipe, JSON.stringify(doc));
        const image = join(base, 'recipe.img');
        expect((await updateImage(recipe)).kind).toBe('full');

        const rnd = random(c.name.length * 7919);
        const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
        const bytes = (n: number) => {
          const b = Buffer.alloc(n);
          for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
          return b;
        };
        const files = () => {
          const all: string[] = [];
          const walk = (at: string) => {
            for (const name of readdirSync(at)) {
              const p = join(at, name);
              const st = lstatSync(p);
              if (st.isDirectory()) walk(p);
              else if (st.isFile()) all.push(p);
            }
          };
          walk(join(base, 'tree'));
          return all;
        };
        const kinds: Record<string, number> = {};
        let counter = 0;
        for (let step = 0; step < 50; step++) {
          const action = pick([
            'kernel',
            'kernel',
            'add',
            'add',
            'change',
            'touch',
            'remove',
            'rmdir',
            'menu',
            ...(c.fs === 'ext2' ? ['chmod', 'link'] : []),
          ]);
          const existing = files();
          switch (action) {
            case 'kernel': // a kernel that grows and shrinks (its data past the ELF is never read by GRUB here)
              writeFileSync(
                join(base, 'kernel.elf'),
                Buffer.concat([readFileSync(join(base, 'kernel.elf')).subarray(0, 896), bytes(Math.floor(rnd() * 40_000))]),
              );
              break;
            case 'add': {
              const folder = join(base, 'tree', pick(['', 'sub', `d${Math.floor(rnd() * 3)}`]));
              mkdirSync(folder, { recursive: true });
              writeFileSync(join(folder, `f${counter++}.bin`), bytes(Math.floor(rnd() * 20_000)));
              break;
            }
            case 'change':
              if (existing.length) writeFileSync(pick(existing), bytes(Math.floor(rnd() * 20_000)));
              break;
            case 'touch':
              if (existing.length) {
                const file = pick(existing);
                const later = new Date(Date.now() + 60_000 * (step + 1));
                utimesSync(file, later, later);
              }
              break;
            case 'remove':
              if (existing.length > 1) rmSync(pick(existing));
              break;
            case 'rmdir': {
              const folders = readdirSync(join(base, 'tree')).filter((n) => n.startsWith('d'));
              if (folders.length) rmSync(join(base, 'tree', pick(folders)), { recursive: true });
              break;
            }
            case 'menu':
              doc.bootloader.menu.entries[0]!.title = `step ${step}`;
              doc.bootloader.menu.timeout = step % 3;
              writeFileSync(recipe, JSON.stringify(doc));
              break;
            case 'chmod':
              if (existing.length) chmodSync(pick(existing), pick([0o600, 0o644, 0o755]));
              break;
            case 'link': {
              const link = join(base, 'tree/sub/link');
              rmSync(link, { force: true });
              symlinkSync(pick(['../a.txt', 'nowhere', '/boot/kernel.elf']), link);
              break;
            }
          }
          const result = await updateImage(recipe);
          kinds[result.kind] = (kinds[result.kind] ?? 0) + 1;
          // The layout never changes here: never a full build.
          expect(result.kind, `step ${step} (${action}): ${result.summary}`).not.toBe('full');
        }
        expect(kinds.incremental).toBeGreaterThan(30);
        checkFs(image, c.fs, c.offsetBytes);
        const fresh = join(base, 'fresh.img');
        await buildRecipe(recipe, { output: fresh });
        checkFs(fresh, c.fs, c.offsetBytes);
        const ours = extracted(image, c.fs, `${c.name}-ours`, c.offsetBytes);
        expect(Object.keys(ours).length).toBeGreaterThan(5);
        expect(ours).toEqual(extracted(fresh, c.fs, `${c.name}-fresh`, c.offsetBytes));
      },
      60_000,
    );
  }

  it.skipIf(bootTestsMissing())(
    'the ext2 floppy still boots after its 50 rebuilds: GRUB legacy’s stage2 block list stayed true, the menu is the last one',
    async () => {
      const image = join(dir, 'ext2-floppy', 'recipe.img');
      expect(existsSync(image)).toBe(true);
      const recipe = join(dir, 'ext2-floppy', 'recipe.json');
      writeFileSync(
        recipe,
        JSON.stringify({ ...JSON.parse(readFileSync(recipe, 'utf8')), bootloader: { grubLegacy: {}, menu: menu('after 50 rebuilds') } }),
      );
      expect((await updateImage(recipe)).kind).toBe('incremental');
      const boot = await bootAndExpect(image, 'Loopback Studio test kernel', 30);
      expect(boot.matched, boot.output).toBe(true);
      expect(boot.output).toContain("Booting 'after 50 rebuilds'");
    },
    60_000,
  );

  it('a stale or missing build state means a full build, never a wrong image', async () => {
    const base = join(dir, 'stale');
    mkdirSync(base);
    buildTestKernel(base);
    const recipe = join(base, 'os.json');
    const doc = {
      image: { floppy: '1.44M' },
      filesystem: { type: 'fat12' },
      files: [{ from: 'kernel.elf', to: '/boot/kernel.elf' }],
      bootloader: { grubLegacy: {}, menu: menu('os') },
    };
    writeFileSync(recipe, JSON.stringify(doc));
    const image = join(base, 'os.img');
    expect((await updateImage(recipe)).kind).toBe('full');
    expect((await updateImage(recipe)).summary).toBe('up to date (nothing changed)');

    // Killed after writing the image, before its state: the old state names the old times.
    const oldState = readFileSync(statePath(image));
    writeFileSync(join(base, 'kernel.elf'), Buffer.concat([readFileSync(join(base, 'kernel.elf')), Buffer.from('more')]));
    const changed = await updateImage(recipe);
    expect(changed.kind).toBe('incremental');
    expect(changed.summary).toMatch(/^rebuilt in \d+ ms: \/boot\/kernel\.elf \(\d+ bytes\) changed$/);
    writeFileSync(statePath(image), oldState);
    expect(await updateImage(recipe)).toMatchObject({
      kind: 'full',
      reason: "os.img changed since it was built (QEMU's guest or another program wrote to it)",
    });

    // Another program writes to the image (mtools here).
    runToolOk('mcopy', ['-i', image, recipe, '::/extra.json']);
    expect((await updateImage(recipe)).kind).toBe('full');
    expect(runTool('mdir', ['-i', image, '::/extra.json']).status).not.toBe(0);

    // A state file that cannot be read: the image is the run's, built anew.
    writeFileSync(statePath(image), '{"version": 1, "entr');
    expect(await updateImage(recipe)).toMatchObject({ kind: 'full', reason: expect.stringMatching(/cannot be read/) });

    // No state at all: the image may be someone's own work — replaced only with force.
    rmSync(statePath(image));
    writeFileSync(join(base, 'kernel.elf'), Buffer.concat([readFileSync(join(base, 'kernel.elf')), Buffer.from('again')]));
    const before = sha(readFileSync(image));
    await expect(updateImage(recipe)).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      message: expect.stringMatching(/no build state.*--force/),
    });
    expect(sha(readFileSync(image))).toBe(before);
    expect((await updateImage(recipe, { force: true })).kind).toBe('full');

    // The layout changes: built anew; a menu change alone is rewritten in place.
    writeFileSync(recipe, JSON.stringify({ ...doc, filesystem: { type: 'fat12', label: 'NEWLABEL' } }));
    expect(await updateImage(recipe)).toMatchObject({ kind: 'full', reason: 'the filesystem changed' });
    writeFileSync(
      recipe,
      JSON.stringify({ ...doc, filesystem: { type: 'fat12', label: 'NEWLABEL' }, bootloader: { grubLegacy: {}, menu: menu('renamed') } }),
    );
    expect(await updateImage(recipe)).toMatchObject({ kind: 'incremental', summary: expect.stringMatching(/the menu changed$/) });
    expect(runToolOk('mtype', ['-i', image, '::/boot/grub/menu.lst']).stdout).toMatch(/title renamed/);
    checkFs(image, 'fat');
  }, 60_000);

  it('a changed file that needs as many clusters is written in place; a larger one elsewhere (mshowfat)', async () => {
    const base = join(dir, 'in-place');
    mkdirSync(base);
    const recipe = join(base, 'os.json');
    writeFileSync(join(base, 'data.bin'), Buffer.alloc(10_000, 1));
    writeFileSync(
      recipe,
      JSON.stringify({ image: { floppy: '1.44M' }, filesystem: { type: 'fat12' }, files: [{ from: 'data.bin', to: '/data.bin' }] }),
    );
    const image = join(base, 'os.img');
    await updateImage(recipe);
    const clusters = () => runToolOk('mshowfat', ['-i', image, '::/data.bin']).stdout.trim();
    const first = clusters();
    writeFileSync(join(base, 'data.bin'), Buffer.alloc(9_800, 2));
    expect((await updateImage(recipe)).kind).toBe('incremental');
    expect(clusters()).toBe(first);
    writeFileSync(join(base, 'data.bin'), Buffer.alloc(30_000, 3));
    expect((await updateImage(recipe)).kind).toBe('incremental');
    expect(clusters()).not.toBe(first);
    expect(runToolOk('mtype', ['-i', image, '::/data.bin']).stdout).toBe(Buffer.alloc(30_000, 3).toString());
    checkFs(image, 'fat');
  }, 30_000);

  it('a broken change is refused before anything is written, naming the field', async () => {
    const base = join(dir, 'broken');
    mkdirSync(base);
    buildTestKernel(base);
    const recipe = join(base, 'os.json');
    const doc = {
      image: { floppy: '1.44M' },
      filesystem: { type: 'fat12' },
      files: [{ from: 'kernel.elf', to: '/boot/kernel.elf' }],
      bootloader: { grubLegacy: {}, menu: menu('os') },
    };
    writeFileSync(recipe, JSON.stringify(doc));
    const image = join(base, 'os.img');
    await updateImage(recipe);
    const before = [sha(readFileSync(image)), readFileSync(statePath(image), 'utf8')];
    const refusals: Array<[object | string, RegExp]> = [
      ['{ "image": ', /not valid JSON/],
      [{ ...doc, files: [{ from: 'missing.elf', to: '/boot/kernel.elf' }] }, /^files\[0\]\.from: .*does not exist/],
      [{ ...doc, files: [...doc.files, { from: 'kernel.elf', to: '/boot/a:b' }] }, /^files\[1\]/],
      [
        { ...doc, bootloader: { grubLegacy: {}, menu: { ...menu('os'), entries: [{ title: 'x', kernel: '/boot/other.elf' }] } } },
        /^bootloader\.menu\.entries\[0\]\.kernel: \/boot\/other\.elf is not copied/,
      ],
      [{ ...doc, files: [{ from: '/etc/hostname', to: '/boot/kernel.elf' }] }, /outside the recipe's folder/],
    ];
    for (const [broken, message] of refusals) {
      writeFileSync(recipe, typeof broken === 'string' ? broken : JSON.stringify(broken));
      await expect(prepareUpdate(recipe)).rejects.toThrow(message);
      expect([sha(readFileSync(image)), readFileSync(statePath(image), 'utf8')]).toEqual(before);
    }
  }, 30_000);
});
