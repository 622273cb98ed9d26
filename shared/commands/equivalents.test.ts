/**
 * "Show commands" shows lines a person can paste: each test runs them in bash — the `loopstudio`
 * line through the built CLI, the classic lines through the host's own tools (dd, sfdisk, mkfs.fat,
 * mke2fs, mtools, debugfs) — and checks the image with a tool other than the one that wrote it.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliOk } from '../../tests/support/cli';
import { missingTools, runToolOk, tempDir } from '../../tests/support/host';
import type { DiskInfo } from '../disk/disk-info';
import {
  bootloaderCommands,
  createCommands,
  formatCommands,
  getCommands,
  mkdirCommands,
  partitionCommands,
  putCommands,
  removeCommands,
  renameCommands,
  type PartitionPlan,
  type VolumeAt,
} from './equivalents';

const ROOT = join(__dirname, '../..');
const BY_HAND = '# the same with the classic tools:';

/** Runs lines in bash in `dir`, with `loopstudio` being the built CLI. */
function sh(dir: string, lines: readonly string[]): string {
  const script = [
    'set -euo pipefail',
    `loopstudio() { ${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'bin/loopstudio.cjs'))} "$@"; }`,
    `cd ${JSON.stringify(dir)}`,
    ...lines,
  ].join('\n');
  return runToolOk('bash', ['-c', script], { env: { MTOOLS_SKIP_CHECK: '1' } }).stdout;
}

/** The lines before "# the same with the classic tools", and the ones after. */
function halves(lines: readonly string[]): { cli: string[]; byHand: string[] } {
  const at = lines.findIndex((l) => l.startsWith(BY_HAND));
  return { cli: lines.slice(0, at), byHand: lines.slice(at + 1) };
}

function sfdiskTable(path: string): { label: string; partitions: Record<string, unknown>[] } {
  const json = JSON.parse(runToolOk('sfdisk', ['--json', path]).stdout) as {
    partitiontable: { label: string; partitions?: Record<string, unknown>[] };
  };
  // Random per table: the partitions' GUIDs.
  return { label: json.partitiontable.label, partitions: (json.partitiontable.partitions ?? []).map(({ node: _, uuid: __, ...p }) => p) };
}

const cannot = missingTools('sfdisk', 'mkfs.fat', 'mke2fs', 'mcopy', 'mmd', 'mdir', 'debugfs', 'fsck.fat', 'e2fsck');

describe.skipIf(!!cannot)('the commands "Show commands" shows, run', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-equivalents-')));
  afterEach(() => cleanup());

  it('create: loopstudio create and the article’s dd make files of the same size', async () => {
    for (const [name, shape] of [
      ['floppy.img', { floppy: '1.44M' }],
      ['chs.img', { chs: '131/16/63' }],
      ['size.img', { size: '10M' }],
    ] as const) {
      const made = (
        await cliOk('create', join(dir, `made-${name}`), ...Object.entries(shape).flatMap(([k, v]) => [`--${k}`, v]), '--json')
      ).json();
      const lines = createCommands(name, shape, made);
      const { cli, byHand } = halves(lines);
      sh(dir, cli);
      sh(dir, [byHand[0]!.replace(/ {3}#.*$/, '').replace(`of=${name}`, `of=dd-${name}`)]);
      expect(statSync(join(dir, name)).size).toBe(made.sizeBytes);
      expect(statSync(join(dir, `dd-${name}`)).size).toBe(made.sizeBytes);
    }
  });

  it('partition: the loopstudio line and the sfdisk script write the same table (MBR with logical partitions, and GPT)', async () => {
    const plans: PartitionPlan[] = [
      {
        table: 'mbr',
        alignmentSectors: 63,
        steps: [
          { op: 'add', spec: 'start=63,size=20000,type=0c,bootable' },
          { op: 'add', spec: 'extended,start=40000,size=60000' },
          { op: 'add', spec: 'logical,start=42048,size=8192,type=83' },
        ],
      },
      {
        table: 'gpt',
        steps: [
          { op: 'add', spec: 'size=1MiB,type=bios' },
          { op: 'add', spec: 'size=20MiB,type=linux,name=root' },
        ],
      },
    ];
    for (const [i, plan] of plans.entries()) {
      const made = join(dir, `made${i}.img`);
      await cliOk('create', made, '--size', '64M');
      const after = (
        await cliOk(
          'partition',
          made,
          ...(plan.table ? ['--table', plan.table] : []),
          ...(plan.alignmentSectors ? ['--align', String(plan.alignmentSectors)] : []),
          ...plan.steps.flatMap((s) => (s.op === 'add' ? ['--add', s.spec] : [])),
          '--json',
        )
      ).json() as DiskInfo;
      const image = `p${i}.img`;
      const lines = partitionCommands(image, plan, after);
      const { cli, byHand } = halves(lines);
      sh(dir, [`truncate -s 64M ${image}`, ...cli]);
      sh(dir, [`truncate -s 64M sf${i}.img`, ...byHand.map((l) => l.replace(` ${image} `, ` sf${i}.img `))]);
      expect(sfdiskTable(join(dir, image))).toEqual(sfdiskTable(made));
      expect(sfdiskTable(made).partitions).toHaveLength(plan.steps.length);
      expect(sfdiskTable(join(dir, `sf${i}.img`)).partitions).toEqual(sfdiskTable(made).partitions);
    }
  });

  it('format: mkfs.fat --offset and mke2fs -E offset= make filesystems loopstudio and fsck read', async () => {
    const image = join(dir, 'disk.img');
    await cliOk('create', image, '--size', '64M');
    const after = (
      await cliOk('partition', image, '--table', 'mbr', '--add', 'size=20M,type=0e', '--add', 'size=rest,type=83', '--json')
    ).json() as DiskInfo;
    const [p1, p2] = after.partitions as [DiskInfo['partitions'][number], DiskInfo['partitions'][number]];
    const at = (p: typeof p1): VolumeAt => ({ image, partition: p.index, startSector: p.startSector, sectorCount: p.sectorCount });
    const fat = halves(formatCommands(at(p1), { fs: 'fat16', label: 'bootfs' })).byHand;
    const ext2 = halves(formatCommands(at(p2), { fs: 'ext2', label: 'rootfs' })).byHand;
    sh(dir, [fat[0]!, ext2[0]!]);
    const info = (await cliOk('info', image, '--json')).json() as { partitions: { filesystem: { type: string; label: string } | null }[] };
    expect(info.partitions.map((p) => p.filesystem && [p.filesystem.type, p.filesystem.label])).toEqual([
      ['fat16', 'BOOTFS'],
      ['ext2', 'rootfs'],
    ]);
    runToolOk('dd', [
      `if=${image}`,
      `of=${join(dir, 'p1.img')}`,
      'bs=512',
      `skip=${p1.startSector}`,
      `count=${p1.sectorCount}`,
      'status=none',
    ]);
    runToolOk('fsck.fat', ['-n', join(dir, 'p1.img')]);
    runToolOk('e2fsck', ['-fn', `${image}?offset=${p2.startSector * 512}`]);
    // The article's loop-device lines name the same range.
    expect(formatCommands(at(p1), { fs: 'fat16' })).toContain(
      `losetup -o ${p1.startSector * 512} --sizelimit ${p1.sectorCount * 512} /dev/loop0 ${image}`,
    );
  });

  it('files: mtools on FAT and debugfs on ext2 do what put, mkdir, rename, rm and get do', async () => {
    const image = join(dir, 'disk.img');
    await cliOk('create', image, '--size', '64M');
    const after = (
      await cliOk('partition', image, '--table', 'mbr', '--add', 'size=20M,type=0e', '--add', 'size=rest,type=83', '--json')
    ).json() as DiskInfo;
    await cliOk('format', image, '-p', '1', '--fs', 'fat16');
    await cliOk('format', image, '-p', '2', '--fs', 'ext2');
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    for (const [p, family] of [
      [after.partitions[0]!, 'fat'],
      [after.partitions[1]!, 'ext2'],
    ] as const) {
      const at: VolumeAt = { image, partition: p.index, startSector: p.startSector, sectorCount: p.sectorCount };
      const n = String(p.index);
      sh(dir, halves(mkdirCommands(at, family, '/boot')).byHand);
      sh(
        dir,
        halves(putCommands(at, family, ['hello.txt'], '/boot')).byHand.filter((l) => !l.startsWith('#')),
      );
      expect((await cliOk('ls', image, '-p', n, '/boot')).stdout).toMatch(/hello\.txt/i);
      sh(dir, halves(renameCommands(at, family, '/boot/hello.txt', '/boot/hi.txt')).byHand);
      expect((await cliOk('ls', image, '-p', n, '/boot')).stdout).toMatch(/hi\.txt/i);
      sh(dir, [`mkdir -p out${n}`, ...halves(getCommands(at, family, '/boot/hi.txt', `out${n}`, false)).byHand]);
      const out = readdirSync(join(dir, `out${n}`));
      expect(out.map((f) => f.toLowerCase())).toEqual(['hi.txt']);
      expect(readFileSync(join(dir, `out${n}`, out[0]!), 'utf8')).toBe('hello\n');
      sh(dir, halves(removeCommands(at, family, '/boot/hi.txt', false)).byHand);
      expect((await cliOk('ls', image, '-p', n, '/boot')).stdout).not.toMatch(/hi\.txt/i);
      // The loopstudio lines run as printed.
      sh(dir, [
        ...halves(putCommands(at, family, ['hello.txt'], '/boot')).cli,
        ...halves(removeCommands(at, family, '/boot/hello.txt', false)).cli,
        ...halves(mkdirCommands(at, family, '/etc')).cli,
      ]);
      expect((await cliOk('ls', image, '-p', n, '/')).stdout).toMatch(/etc/i);
    }
    runToolOk('e2fsck', ['-fn', `${image}?offset=${after.partitions[1]!.startSector * 512}`]);
  });

  it.skipIf(!existsSync('/usr/lib/grub/i386-pc/boot.img'))(
    'boot loader: the loopstudio line installs what the dialog installed, with its menu entry',
    async () => {
      const image = join(dir, 'disk.img');
      await cliOk('create', image, '--size', '64M');
      const after = (
        await cliOk('partition', image, '--table', 'mbr', '--align', '63', '--add', 'start=63,size=rest,type=83,bootable', '--json')
      ).json() as DiskInfo;
      await cliOk('format', image, '-p', '1', '--fs', 'ext2');
      writeFileSync(join(dir, 'kernel.elf'), 'not really a kernel\n');
      const p = after.partitions[0]!;
      const lines = bootloaderCommands(
        { image, partition: 1, startSector: p.startSector, sectorCount: p.sectorCount },
        {
          loader: 'grub2',
          kernelFile: join(dir, 'kernel.elf'),
          menu: {
            timeout: 3,
            serial: true,
            entries: [{ title: 'My OS', kernel: '/boot/kernel.elf', type: 'multiboot', cmdline: 'quiet' }],
          },
        },
        { table: 'mbr', floppy: false, fs: 'ext2' },
      );
      sh(dir, halves(lines).cli);
      expect(((await cliOk('info', image, '--json')).json() as { boot: { kind: string } }).boot.kind).toBe('grub2');
      const cfg = runToolOk('debugfs', ['-R', 'cat /boot/grub/grub.cfg', `${image}?offset=${p.startSector * 512}`]).stdout;
      expect(cfg).toMatch(/menuentry 'My OS'/);
      expect(cfg).toMatch(/multiboot \/boot\/kernel\.elf quiet/);
      expect(halves(lines).byHand.join('\n')).toMatch(
        /grub-install --target=i386-pc --boot-directory=\/mnt\/boot --modules='part_msdos ext2' \/dev\/loop0/,
      );
    },
  );
});
