/**
 * ISO recipes (issue 16), built as a user builds them (`loopstudio build`) and checked by tools
 * that are not ours: xorriso lists the El Torito entries and the hybrid MBR, isoinfo the volume
 * and the names, osirrox extracts the tree byte for byte (names and links included); the test
 * kernel boots from the image in QEMU as a CD with SeaBIOS and with OVMF, and as a hard disk (the
 * hybrid MBR). Bad recipes are refused before anything is written, naming the field. `info`,
 * `ls` and `get` read ISO images (ours and grub-mkrescue's), and every writer refuses one.
 */
import * as fs from 'node:fs';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffModels, modelOfFolder, patternBytes, type TreeModel } from '../../shared/fs/iso9660/test-support';
import { bootAndExpect, bootTestsMissing, grubUefiBootMissing } from '../../tests/support/boot';
import { cli, cliOk } from '../../tests/support/cli';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { BOOT_SECTOR_LINE, buildBootSector, buildTestKernel, KERNEL_LINE } from '../../tests/support/test-kernel';

const EXAMPLE = join(__dirname, '../../examples/iso-grub2.json');
const skip =
  bootTestsMissing() ??
  missingTools('grub-mkimage', 'xorriso', 'osirrox', 'isoinfo', 'mkfs.fat', 'mmd', 'mcopy') ??
  (existsSync('/usr/lib/grub/i386-pc/boot_hybrid.img') ? null : 'GRUB 2 for BIOS (grub-pc-bin) is not installed');
const noUefi = grubUefiBootMissing();
const UTF8 = { LC_ALL: 'C.UTF-8' };

let dir: string;
let cleanup: () => void;
let kernel: Buffer;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('loopstudio-iso-'));
  if (skip) return;
  kernel = readFileSync(buildTestKernel(dir));
  buildBootSector(dir);
  copyFileSync(EXAMPLE, join(dir, 'iso-grub2.json'));
});
afterAll(() => {
  // osirrox extracts folders read-only (r-x, as the image records them).
  runTool('chmod', ['-R', 'u+rwx', dir]);
  cleanup();
});

let counter = 0;
function recipe(document: unknown, name = `r${++counter}`): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(document));
  return path;
}

async function build(recipePath: string, ...args: string[]): Promise<{ image: string; result: any }> {
  const image = recipePath.replace(/\.json$/, '.iso');
  const result = (await cliOk('build', recipePath, '-o', image, '--force', '--json', ...args)).json();
  expect(result.image).toBe(image);
  return { image, result };
}

/** A build that must be refused: its message, and that no image (nor a temporary file) appeared. */
async function refused(recipePath: string): Promise<{ message: string; field: string | null }> {
  const image = recipePath.replace(/\.json$/, '.iso');
  const run = await cli('build', recipePath, '-o', image, '--json');
  expect(run.code, run.stdout).toBe(1);
  expect(existsSync(image)).toBe(false);
  expect(readdirSync(dir).filter((n) => n.includes('.building-'))).toEqual([]);
  const error = JSON.parse(run.stdout).error;
  return { message: error.message as string, field: (error.details?.field as string | undefined) ?? null };
}

function xorrisoReport(image: string): string {
  return runToolOk('xorriso', ['-indev', image, '-report_el_torito', 'plain', '-report_system_area', 'plain']).stdout;
}

/** osirrox's extraction of the whole image into a new folder. */
function extract(image: string): string {
  const out = join(dir, `x${++counter}`);
  runToolOk('osirrox', ['-indev', image, '-extract', '/', out], { env: UTF8 });
  return out;
}

/** The entries of `model` below `prefix`, with paths made relative to it. */
function under(model: TreeModel, prefix: string): TreeModel {
  return new Map([...model].filter(([path]) => path.startsWith(`${prefix}/`)).map(([path, entry]) => [path.slice(prefix.length), entry]));
}

/** A tree of the kinds of names and files a project has: case, spaces, Unicode, long names, links, deep folders, empty and 2 MiB files. */
function makeTree(root: string): void {
  const file = (path: string, bytes: Uint8Array | string, mode = 0o644) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), bytes, { mode });
  };
  file('README.md', '# my os\n');
  file('Mixed Case Name.TXT', 'case kept\n');
  file('ünïcödé – 中文.txt', 'utf-8 names\n');
  file(`${'a-very-long-file-name-'.repeat(5)}that-goes-on.source.c`, 'int main(void) { return 0; }\n');
  file('empty', '');
  file('bin/tool', '#!/bin/sh\necho hi\n', 0o755);
  file('data/blob.bin', patternBytes(2 * 1024 * 1024 + 123, 7));
  file('deep/a/b/c/d/e/f/g/h/i/j/leaf.txt', 'nine levels down\n');
  symlinkSync('README.md', join(root, 'readme-link'));
  symlinkSync('../deep/a', join(root, 'bin/to-deep'));
  symlinkSync('does/not/exist', join(root, 'dangling'));
}

describe.skipIf(skip)(`ISO images from loopstudio build${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let example: string;
  beforeAll(async () => {
    if (!skip) ({ image: example } = await build(join(dir, 'iso-grub2.json')));
  }, 60_000);

  it('examples/iso-grub2.json: xorriso lists the BIOS and UEFI boot images and the hybrid MBR; isoinfo the volume and names', () => {
    const report = xorrisoReport(example);
    expect(report).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+4\s+\d+/);
    expect(report).toContain('El Torito img path :   1  /boot/grub/i386-pc/eltorito.img');
    expect(report).toContain('El Torito img opts :   1  boot-info-table grub2-boot-info');
    if (!noUefi) expect(report).toMatch(/El Torito boot img :\s+2\s+UEFI\s+y\s+none/);
    expect(report).toContain('System area summary: MBR protective-msdos-label grub2-mbr');
    expect(report).toMatch(/MBR partition\s*:\s+1\s+0x80\s+0xcd\s+1\s+\d+/);
    expect(report).toMatch(/MBR partition\s*:\s+2\s+0x00\s+0xef\s+\d+\s+\d+/);

    const d = runToolOk('isoinfo', ['-d', '-i', example]).stdout;
    expect(d).toContain('Volume id: MYOS');
    expect(d).toMatch(/El Torito VD version 1 found/);
    expect(d).toContain('Rock Ridge signatures version 1 found');
    expect(d).toMatch(/Joliet with UCS level 3 found/);
    const listing = runToolOk('isoinfo', ['-R', '-l', '-i', example]).stdout;
    expect(listing).toMatch(/-r-xr-xr-x\s+1\s+0\s+0\s+\d+ Jan\s+1 2024 \[\s*\d+ 00\]\s+myos\.bin/);
    expect(listing).toMatch(/grub\.cfg/);
    expect(listing).toMatch(/normal\.mod/);
  });

  it('osirrox gives back the kernel and the menu; the same recipe gives the same bytes', async () => {
    const out = extract(example);
    expect(readFileSync(join(out, 'boot/myos.bin')).equals(kernel)).toBe(true);
    const cfg = readFileSync(join(out, 'boot/grub/grub.cfg'), 'utf8');
    expect(cfg).toMatch(/menuentry '?myos'? \{[^}]*multiboot \/boot\/myos\.bin/s);
    expect(runTool('grub-script-check', [join(out, 'boot/grub/grub.cfg')]).status).toBe(0);
    // The UUID both GRUBs search for is the volume's date.
    const uuid = (await cliOk('info', example, '--json')).json().iso.uuid;
    expect(uuid).toBe('2024-01-01-00-00-00-00');
    const again = join(dir, 'again.iso');
    await cliOk('build', join(dir, 'iso-grub2.json'), '-o', again);
    expect(readFileSync(again).equals(readFileSync(example))).toBe(true);
  });

  it('a project tree — case, spaces, Unicode, long names, links, deep folders, empty and 2 MiB files — comes back byte-exact through osirrox and through loopstudio get', async () => {
    const src = join(dir, 'tree');
    makeTree(src);
    const r = recipe({
      image: { iso: { volumeId: 'Tree Test', date: '2024-05-06T07:08:09Z', nameCollisions: 'rename' } },
      files: [{ from: 'tree', to: '/src' }],
    });
    const { image, result } = await build(r);
    expect(result.iso).toMatchObject({ volumeId: 'Tree Test', hybrid: false, boot: [] });
    const expected = await modelOfFolder(fs, src);

    expect(diffModels(expected, under(await modelOfFolder(fs, extract(image)), '/src'))).toEqual([]);

    const names = runToolOk('isoinfo', ['-R', '-f', '-i', image], { env: UTF8 }).stdout.split('\n').filter(Boolean).sort();
    expect(names).toEqual(
      [...expected.keys()]
        .map((p) => `/src${p}`)
        .concat('/src')
        .sort(),
    );

    const got = join(dir, 'got');
    await cliOk('get', image, '/src', got);
    expect(diffModels(expected, await modelOfFolder(fs, got))).toEqual([]);
    const ls = (await cliOk('ls', image, '/src', '--json')).json();
    expect(ls.entries.map((e: { name: string }) => e.name)).toEqual(
      expect.arrayContaining(['Mixed Case Name.TXT', 'ünïcödé – 中文.txt', 'readme-link']),
    );
  });

  it('boots the test kernel: -cdrom with SeaBIOS, and as a hard disk (the hybrid MBR) with SeaBIOS', async () => {
    const cd = await bootAndExpect(example, KERNEL_LINE, 30);
    expect(cd.commandLine).toMatch(/-drive file=\S+,format=raw,if=ide,index=2,media=cdrom -boot order=d/);
    expect(cd.matched, cd.output).toBe(true);
    const disk = await bootAndExpect(example, KERNEL_LINE, 30, '--disk');
    expect(disk.commandLine).toMatch(/-drive file=\S+,format=raw,if=ide -boot order=c/);
    expect(disk.matched, disk.output).toBe(true);
  }, 60_000);

  it.skipIf(noUefi)(
    `boots the test kernel: -cdrom with OVMF (the UEFI El Torito entry)${noUefi ? ` (skipped: ${noUefi})` : ''}`,
    async () => {
      const uefi = await bootAndExpect(example, KERNEL_LINE, 60, '--uefi');
      expect(uefi.commandLine).toContain('media=cdrom');
      expect(uefi.commandLine).toMatch(/OVMF|ovmf/);
      expect(uefi.matched, uefi.output).toBe(true);
    },
    90_000,
  );

  it("your own grub.cfg (the Bare Bones tutorial's) with GRUB for BIOS only, and your own no-emulation boot image, boot too", async () => {
    writeFileSync(join(dir, 'grub.cfg'), 'set timeout=0\nmenuentry "myos" {\n\tmultiboot /boot/myos.bin\n}\n');
    const bare = recipe({
      image: { iso: { date: '2024-01-01' } },
      files: [
        { from: 'kernel.elf', to: '/boot/myos.bin' },
        { from: 'grub.cfg', to: '/boot/grub/grub.cfg' },
      ],
      bootloader: { grub2: {} },
    });
    const { image } = await build(bare);
    expect(xorrisoReport(image)).not.toMatch(/UEFI/);
    expect((await bootAndExpect(image, KERNEL_LINE, 30)).matched).toBe(true);

    const own = recipe({ image: { iso: { date: '2024-01-01' } }, bootloader: { bootImage: { file: 'bootsector.bin', loadSectors: 1 } } });
    const { image: ownImage, result } = await build(own);
    expect(result.bootloader).toBe('boot-image');
    const report = xorrisoReport(ownImage);
    expect(report).toContain('El Torito img path :   1  /boot/bootsector.bin');
    expect(report).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+1\s+/);
    expect(report).not.toMatch(/MBR partition/);
    expect((await bootAndExpect(ownImage, BOOT_SECTOR_LINE, 20)).matched).toBe(true);
  }, 60_000);

  it('--print-commands: the script (grub-mkimage, mkfs.fat, mtools, xorriso) makes an image xorriso reports the same way', async () => {
    const script = (await cliOk('build', join(dir, 'iso-grub2.json'), '--print-commands')).stdout;
    expect(script).toMatch(
      /^grub-mkimage -d \S+ -O i386-pc-eltorito -p \/boot\/grub -c "\$WORK\/early\.cfg" -o "\$TREE"\/boot\/grub\/i386-pc\/eltorito\.img /m,
    );
    expect(script).toMatch(
      /^xorriso -as mkisofs -o "\$IMG" -r -J -V MYOS .*-b boot\/grub\/i386-pc\/eltorito\.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info .*--grub2-mbr \S+boot_hybrid\.img --protective-msdos-label/m,
    );
    expect(script).toMatch(/^#\s+grub-mkrescue -o "\$IMG" "\$TREE" -- -volid MYOS$/m);
    const file = join(dir, 'iso.sh');
    writeFileSync(file, script);
    const image = join(dir, 'script.iso');
    const run = runTool('bash', [file, image]);
    expect(run.status, run.stderr).toBe(0);
    const ours = xorrisoReport(example)
      .split('\n')
      .filter((l) => /Torito (boot img|img path|img opts)|MBR partition/.test(l));
    const theirs = xorrisoReport(image)
      .split('\n')
      .filter((l) => /Torito (boot img|img path|img opts)|MBR partition/.test(l));
    // The same entries and partitions (block numbers differ: xorriso places files its own way).
    const shape = (lines: string[]) => lines.map((l) => l.replace(/\d{2,}/g, 'N').replace(/\s+/g, ' '));
    expect(shape(theirs)).toEqual(shape(ours));
    expect(readFileSync(join(extract(image), 'boot/myos.bin')).equals(kernel)).toBe(true);
  }, 60_000);
});

describe.skipIf(skip)(
  `bad ISO recipes are refused before anything is written, naming the field${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    it('a file over 4 GiB − 1 byte', async () => {
      const big = join(dir, 'big.img');
      fs.closeSync(fs.openSync(big, 'w'));
      fs.truncateSync(big, 4 * 1024 ** 3);
      const { message, field } = await refused(
        recipe({
          image: { iso: {} },
          files: [
            { from: 'kernel.elf', to: '/k' },
            { from: 'big.img', to: '/big.img' },
          ],
        }),
      );
      expect(field).toBe('files[1].from');
      expect(message).toMatch(
        /^files\[1\]\.from: \/big\.img is 4\.00 GiB \(4294967296 bytes\): an ISO 9660 file holds at most 4 GiB − 1 byte/,
      );
      fs.rmSync(big);
    });

    it('two names that map to one ISO 9660 name (unless the recipe lets the build rename one)', async () => {
      mkdirSync(join(dir, 'clash'));
      writeFileSync(join(dir, 'clash/A.txt'), 'a');
      writeFileSync(join(dir, 'clash/a.TXT'), 'b');
      writeFileSync(join(dir, 'clash/libc_sources_1.c'), 'c');
      writeFileSync(join(dir, 'clash/libc_sources_2.c'), 'd');
      const files = [{ from: 'clash', to: '/clash' }];
      const { message, field } = await refused(recipe({ image: { iso: {} }, files }));
      expect(field).toBe('files[0].from');
      expect(message).toContain('files[0].from: /clash/A.txt and /clash/a.TXT both map to the ISO 9660 name "A.TXT;1" (level 1)');
      expect(message).toContain(
        'files[0].from: /clash/libc_sources_1.c and /clash/libc_sources_2.c both map to the ISO 9660 name "LIBC_SOU.C;1" (level 1)',
      );
      expect(message).toMatch(/"nameCollisions": "rename"/);
      // Renamed, the plain names differ and Rock Ridge keeps the real ones.
      const { image, result } = await build(recipe({ image: { iso: { nameCollisions: 'rename' } }, files }));
      expect(result.iso.renamed).toBe(2);
      expect(runToolOk('isoinfo', ['-R', '-f', '-i', image]).stdout.split('\n')).toEqual(
        expect.arrayContaining(['/clash/A.txt', '/clash/a.TXT', '/clash/libc_sources_2.c']),
      );
      expect(runToolOk('isoinfo', ['-f', '-i', image]).stdout.split('\n')).toEqual(
        expect.arrayContaining(['/CLASH/A.TXT;1', '/CLASH/A000.TXT;1', '/CLASH/LIBC_000.C;1']),
      );
    });

    it("GRUB's files missing on the host, for BIOS and for UEFI", async () => {
      const r = recipe({
        image: { iso: {} },
        files: [{ from: 'kernel.elf', to: '/k.elf' }],
        bootloader: { grub2: { firmware: 'both' }, menu: { entries: [{ title: 'x', kernel: '/k.elf' }] } },
      });
      const saved = { ...process.env };
      try {
        process.env.LOOPSTUDIO_GRUB2_DIR = join(dir, 'no-grub');
        const bios = await refused(r);
        expect(bios.field).toBe('bootloader.grub2');
        expect(bios.message).toMatch(
          /^bootloader\.grub2: GRUB 2's BIOS files \(boot\.img, moddep\.lst and the modules\) are not in .*no-grub\. Install them: /,
        );
        delete process.env.LOOPSTUDIO_GRUB2_DIR;
        process.env.LOOPSTUDIO_GRUB2_EFI_DIR = join(dir, 'no-grub-efi');
        const uefi = await refused(r);
        expect(uefi.field).toBe('bootloader.grub2.firmware');
        expect(uefi.message).toMatch(/^bootloader\.grub2\.firmware: GRUB 2's UEFI files .* are not in .*no-grub-efi/);
      } finally {
        process.env = saved;
      }
    });

    it('a menu kernel not in the image, no grub.cfg at all, one path twice, a boot image path nothing copies; an existing image stays as it was', async () => {
      const menu = (kernel: string) => ({ entries: [{ title: 'x', kernel }] });
      let r = await refused(
        recipe({
          image: { iso: {} },
          files: [{ from: 'kernel.elf', to: '/boot/kernel.elf' }],
          bootloader: { grub2: {}, menu: menu('/boot/other.elf') },
        }),
      );
      expect(r.message).toMatch(
        /^bootloader\.menu\.entries\[0\]\.kernel: \/boot\/other\.elf is not copied into the image by any files\[\] entry/,
      );
      r = await refused(recipe({ image: { iso: {} }, files: [{ from: 'kernel.elf', to: '/boot/kernel.elf' }], bootloader: { grub2: {} } }));
      expect(r.message).toMatch(
        /^bootloader\.grub2: GRUB reads \/boot\/grub\/grub\.cfg, and the recipe has neither a menu .* nor a files\[\] entry/,
      );
      r = await refused(
        recipe({
          image: { iso: {} },
          files: [
            { from: 'kernel.elf', to: '/k' },
            { from: 'bootsector.bin', to: '/k' },
          ],
        }),
      );
      expect(r.message).toMatch(
        /^files\[1\]\.to: \/k would be in the image twice: .*bootsector\.bin and files\[0\]\.from \(.*kernel\.elf\)/,
      );
      writeFileSync(join(dir, 'grub.cfg'), 'menuentry x { multiboot /k }\n');
      r = await refused(
        recipe({
          image: { iso: {} },
          files: [
            { from: 'kernel.elf', to: '/k' },
            { from: 'grub.cfg', to: '/boot/grub/grub.cfg' },
          ],
          bootloader: { grub2: {}, menu: menu('/k') },
        }),
      );
      expect(r.message).toMatch(
        /^files\[1\]\.to: \/boot\/grub\/grub\.cfg would be in the image twice: .*the menu writes \/boot\/grub\/grub\.cfg/,
      );
      r = await refused(recipe({ image: { iso: {} }, bootloader: { bootImage: { path: '/boot/none.bin' } } }));
      expect(r.message).toMatch(/^bootloader\.bootImage\.path: \/boot\/none\.bin is not a file that files\[\] copies/);

      // A refused build leaves the image it would have replaced byte for byte as it was.
      const path = recipe({ image: { iso: { volumeId: 'KEEP' } }, files: [{ from: 'kernel.elf', to: '/k' }] }, 'keep');
      const { image } = await build(path);
      const before = readFileSync(image);
      writeFileSync(path, JSON.stringify({ image: { iso: {} }, files: [{ from: 'missing.elf', to: '/k' }] }));
      const run = await cli('build', path, '-o', image, '--force');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/files\[0\]\.from: .*missing\.elf does not exist/);
      expect(readFileSync(image).equals(before)).toBe(true);
    });
  },
);

describe.skipIf(skip ?? missingTools('grub-mkrescue'))(
  `info, ls and get read ISO images; writers refuse them${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    it("grub-mkrescue's image: info shows the volume, El Torito and the hybrid MBR; ls and get read it; put, mkdir, format, partition and bootloader refuse it, changing nothing", async () => {
      const isodir = join(dir, 'isodir');
      mkdirSync(join(isodir, 'boot/grub'), { recursive: true });
      writeFileSync(join(isodir, 'boot/myos.bin'), kernel);
      writeFileSync(join(isodir, 'boot/grub/grub.cfg'), 'menuentry "myos" {\n\tmultiboot /boot/myos.bin\n}\n');
      const image = join(dir, 'rescue.iso');
      runToolOk('grub-mkrescue', ['-o', image, isodir, '--', '-volid', 'RESCUE']);

      const info = (await cliOk('info', image, '--json')).json();
      expect(info.iso).toMatchObject({ volumeIdentifier: 'RESCUE', rockRidge: true, names: 'rock-ridge' });
      expect(info.iso.bootCatalog.entries[0]).toMatchObject({ platform: 'bios', path: '/boot/grub/i386-pc/eltorito.img', sectorCount: 4 });
      expect(info.iso.uuid).toMatch(/^\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d\d$/);
      const text = (await cliOk('info', image)).stdout;
      expect(text).toMatch(/ISO 9660\s+"RESCUE" \(UUID [\d-]+\)/);
      expect(text).toMatch(/BIOS, no emulation, 4 sectors from block \d+: \/boot\/grub\/i386-pc\/eltorito\.img/);

      const ls = (await cliOk('ls', image, '/boot', '--json')).json();
      expect(ls.entries.map((e: { name: string }) => e.name).sort()).toEqual(['grub', 'myos.bin']);
      const out = join(dir, 'rescue-out');
      await cliOk('get', image, '/boot/myos.bin', out);
      expect(readFileSync(out).equals(kernel)).toBe(true);
      expect((await cliOk('get', image, '/boot/grub/grub.cfg', '-')).stdoutBytes!.toString()).toContain('multiboot /boot/myos.bin');
      const partition = await cli('ls', image, '-p', '1', '/');
      expect(partition.stderr).toMatch(/is an ISO 9660 image: its files are read without -p/);

      const before = readFileSync(image);
      for (const args of [
        ['put', image, join(isodir, 'boot/grub/grub.cfg'), '/x.cfg'],
        ['mkdir', image, '/new'],
        ['rm', image, '/boot/myos.bin'],
        ['format', image, '--fs', 'fat32'],
        ['partition', image, '--table', 'mbr', '--new', '--add', 'size=rest'],
        ['bootloader', image, '--boot-sector', join(dir, 'bootsector.bin')],
      ]) {
        const run = await cli(...args);
        expect(run.code, args.join(' ')).toBe(1);
        expect(run.stderr).toMatch(/is an ISO 9660 image: Loopback Studio reads it \(info, ls, get, qemu\) but does not change it/);
      }
      expect(readFileSync(image).equals(before)).toBe(true);
    }, 60_000);

    it('build --update of an ISO recipe builds it anew, then finds it up to date', async () => {
      const r = recipe({ image: { iso: {} }, files: [{ from: 'kernel.elf', to: '/k' }] }, 'update');
      const image = join(dir, 'update.iso');
      const first = (await cliOk('build', r, '--update', '--json')).json();
      expect(first).toMatchObject({ kind: 'full', image });
      expect(existsSync(image)).toBe(true);
      const second = (await cliOk('build', r, '--update', '--json')).json();
      expect(second.kind).toBe('none');
    });
  },
);
