/**
 * The loop engine through its services, for real, as root: the OSDev article's hard-disk recipe
 * end to end, hostile image names through every step (directly and through sudo-prompt's shells),
 * the journal written before the helper runs, leftovers found and released, FAT mounts where the
 * kernel has vfat. Every result is checked with the system's own tools: losetup, /proc/self/mounts,
 * e2fsck, debugfs, fsck.fat, mtools.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import {
  attachOwn,
  detachIfBackedBy,
  liveLoops,
  loopSkipReason,
  skipTitle,
  loopsUnder,
  mountsUnder,
  releaseUnder,
  vfatSkipReason,
} from '../../tests/support/loops';
import { withSudoPromptShim } from '../../tests/support/sudo-prompt-shim';
import { LoopbackError } from '../../shared/errors';
import { bootAndExpect, bootTestsMissing } from '../../tests/support/boot';
import { cliOk } from '../../tests/support/cli';
import { buildTestKernel, KERNEL_LINE } from '../../tests/support/test-kernel';
import { isGrub2Version } from '../platform/grub';
import { runPrivileged } from '../privileged/elevate';
import type { HelperRequest } from '../privileged/request';
import { partitionImage } from './disks';
import { createImage } from './images';
import { LoopService, loopFormat, mountName } from './loops';

const skip = loopSkipReason();
/** Whether GRUB 2's grub-install is here (Debian's grub-legacy has a grub-install of its own, 0.97). */
const grub2InstallHere = ['grub-install', 'grub2-install'].some(
  (name) => hasTool(name) && isGrub2Version(runTool(name, ['--version']).stdout),
);

let dir: string;
let cleanup: () => void;
let mountRoot: string;
let stateDir: string;
let payload: string;
const PAYLOAD = 'a file copied in with plain cp\n';

/** The real helper, as `npm run build` built it (out/privileged/helper.cjs). */
const asRoot = async (request: HelperRequest) => runPrivileged(request);
const throughSudoPrompt = async (request: HelperRequest) => runPrivileged(request, { mode: 'sudo-prompt' });
const service = (extra: Partial<ConstructorParameters<typeof LoopService>[0]> = {}) =>
  new LoopService({ shell: 'cli', stateDir, mountRoot, privileged: asRoot, ...extra });

/** Everything under `root`, as relative paths (to prove an action created nothing else). */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d)) {
      out.push(`${prefix}${name}`);
      if (statSync(join(d, name)).isDirectory()) walk(join(d, name), `${prefix}${name}/`);
    }
  };
  walk(root, '');
  return out.sort();
}

/** Runs e2fsck -fn and a debugfs command on an ext2 at `offset` of `image`, through a loop device the test attaches itself. */
function checkExt2(
  image: string,
  offset: number,
  sizeBytes: number | null,
  debugfsCommand: string,
): { fsck: number | null; debugfs: string } {
  const device = attachOwn(image, offset ? ['--offset', String(offset), ...(sizeBytes ? ['--sizelimit', String(sizeBytes)] : [])] : []);
  try {
    const fsck = runTool('e2fsck', ['-fn', device]);
    return { fsck: fsck.status, debugfs: runToolOk('debugfs', ['-R', debugfsCommand, device]).stdout };
  } finally {
    detachIfBackedBy(device, image);
  }
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir('loopstudio-loops-'));
  mountRoot = join(dir, 'run', 'loopback-studio', 'mnt');
  stateDir = join(dir, 'state');
  payload = join(dir, 'payload.txt');
  writeFileSync(payload, PAYLOAD);
});
afterEach(() => releaseUnder(dir));
afterAll(() => {
  releaseUnder(dir);
  cleanup();
});

describe('mount point names', () => {
  it('keep letters and digits of the image name, and nothing a shell or a reader would trip on', () => {
    expect(mountName('/x/c.img', 1)).toBe('c-p1');
    expect(mountName('/x/$(touch p) \'q"x`.img', null)).toBe('__touch_p___q_x_');
    expect(mountName('/x/--leading-dash.img', null)).toBe('leading-dash');
    expect(mountName('/x/ünïcødé 日本.img', 2)).toBe('ünïcødé_日本-p2');
    expect(mountName('/x/.img', null)).toBe('img');
    expect(mountName('/x/...', null)).toBe('image');
  });
});

describe.skipIf(skip)(skipTitle('the OSDev article, end to end, through the loop engine', skip), () => {
  it('c.img 1000/16/63, partition at 63, losetup -o 32256, mke2fs -b1024, mount, cp, umount, detach: e2fsck clean, nothing left', async () => {
    const image = join(dir, 'c.img');
    await createImage({ path: image, shape: { chs: '1000/16/63' } });
    await partitionImage(image, { table: 'mbr', steps: [{ op: 'add', spec: 'start=63,size=rest,type=83,bootable' }] });
    const loops = service();

    // losetup -o32256 /dev/loop0 /path/to/c.img
    const attached = await loops.attach(image, { partition: 1 });
    const device = attached.device!;
    expect(liveLoops().find((l) => l.device === device)).toEqual({ device, backingFile: image, offset: 32256, sizelimit: 1_007_937 * 512 });
    expect(attached.commands).toEqual([`/usr/sbin/losetup --find --show --offset 32256 --sizelimit ${1_007_937 * 512} -- ${image}`]);
    expect(attached.equivalent?.lines[0]).toBe(`losetup -o 32256 --sizelimit ${1_007_937 * 512} ${device} ${image}`);

    // mke2fs -b1024 /dev/loop0 #blocks — the host's own tool, on the device the service attached.
    runToolOk('mke2fs', ['-q', '-b1024', device, '503968']);
    const detached = await loops.detach(device);
    expect(detached.commands).toEqual([`/usr/sbin/losetup --detach ${device}`]);
    expect(loopsUnder(dir)).toEqual([]);

    // mount -text2 /dev/loop0 /mnt/wherever, then plain cp.
    const mounted = await loops.mount(image, { partition: 1 });
    const mnt = mounted.mountDir!;
    expect(mnt).toBe(join(mountRoot, 'c-p1'));
    expect(mountsUnder(dir)).toEqual([mnt]);
    expect(mounted.equivalent).toMatchObject({
      oneStep: `mount -t ext2 -o loop,offset=32256,sizelimit=${1_007_937 * 512} ${image} ${mnt}`,
      fstab: expect.stringMatching(/^\S+c\.img {2}\S+c-p1 {2}ext2 {2}user,noauto,loop,offset=32256,/),
    });
    const source = join(dir, 'kernel-files');
    mkdirSync(join(source, 'boot', 'grub'), { recursive: true });
    writeFileSync(join(source, 'hello.txt'), 'hello from the article\n');
    writeFileSync(join(source, 'boot', 'grub', 'menu.lst'), 'title my os\n');
    runToolOk('cp', [join(source, 'hello.txt'), `${mnt}/`]);
    runToolOk('cp', ['-r', join(source, 'boot'), `${mnt}/`]);
    expect(readFileSync(join(mnt, 'hello.txt'), 'utf8')).toBe('hello from the article\n');

    // sync, umount, losetup -d.
    const released = await loops.unmount(mnt);
    expect(released.commands).toEqual(['/usr/bin/sync', `/usr/bin/umount -- ${mnt}`, `/usr/sbin/losetup --detach ${mounted.device}`]);
    expect(loopsUnder(dir)).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(existsSync(mnt)).toBe(false);
    expect((await loops.list()).entries).toEqual([]);

    const check = checkExt2(image, 32256, 1_007_937 * 512, 'ls -p /');
    expect(check.fsck).toBe(0);
    expect(check.debugfs).toMatch(/\/hello\.txt\//);
    expect(check.debugfs).toMatch(/\/boot\//);
    expect(checkExt2(image, 32256, null, 'cat /boot/grub/menu.lst').debugfs).toBe('title my os\n');
    expect(runToolOk('losetup', ['-a']).stdout).not.toContain(dir);
  });

  it('formats with the host’s mke2fs and mkfs.fat through a loop device (loopFormat), checked by e2fsck and fsck.fat', async () => {
    const image = join(dir, 'small.img');
    await createImage({ path: image, shape: { chs: '40/16/63' } });
    await partitionImage(image, {
      table: 'mbr',
      steps: [
        { op: 'add', spec: 'start=63,size=20000,type=83' },
        { op: 'add', spec: 'start=20097,size=rest,type=06' },
      ],
    });
    const loops = service();
    const ext2 = await loopFormat(image, 1, 'ext2', { loops, label: 'ROOT' });
    expect(ext2.commands[1]).toBe(`/usr/sbin/mke2fs -t ext2 -b 1024 -L ROOT -- ${ext2.device} 10000`);
    expect(ext2.usage).toMatchObject({ type: 'ext2', label: 'ROOT', blockBytes: 1024 });
    expect(checkExt2(image, 63 * 512, 20000 * 512, 'stats').fsck).toBe(0);

    const fat = await loopFormat(image, 2, 'fat16', { loops, label: 'DATA' });
    expect(fat.commands[1]).toMatch(/^\/usr\/sbin\/mkfs\.fat -F 16 -n DATA -h 20097 -g 16\/63 --mbr=n \/dev\/loop\d+$/);
    expect(fat.usage).toMatchObject({ type: 'fat16' });
    expect(loopsUnder(dir)).toEqual([]);
    expect((await loops.list()).entries).toEqual([]);
    if (!missingTools('fsck.fat', 'minfo')) {
      const device = attachOwn(image, ['--offset', String(20097 * 512)]);
      try {
        expect(runTool('fsck.fat', ['-n', device]).status).toBe(0);
      } finally {
        detachIfBackedBy(device, image);
      }
      // The boot sector records the partition's place (hidden sectors) and the geometry.
      const info = runToolOk('minfo', ['-i', `${image}@@${20097 * 512}`, '::']).stdout;
      expect(info).toMatch(/hidden sectors: 20097\n/);
      expect(info).toMatch(/\nheads: 16\n/);
    }
  });

  it('records its intent in the journal before the helper runs', async () => {
    const image = join(dir, 'intent.img');
    await createImage({ path: image, shape: { floppy: '1.44M' } });
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', image]);
    let seen: unknown = null;
    const loops: LoopService = service({
      privileged: async (request) => {
        seen = await loops.journal.read();
        return asRoot(request);
      },
    });
    const mounted = await loops.mount(image);
    expect(seen).toEqual([expect.objectContaining({ kind: 'mount', state: 'mounting', image, device: null, mountDir: mounted.mountDir })]);
    expect(await loops.journal.read()).toEqual([expect.objectContaining({ state: 'mounted', device: mounted.device })]);
    await loops.unmount(image);
    expect(await loops.journal.read()).toEqual([]);
  });

  it('finds what a finished process left (by pid) and mounts under its root that nobody recorded, and releases only those', async () => {
    const image = join(dir, 'left.img');
    const stranger = join(dir, 'stranger.img');
    for (const path of [image, stranger]) {
      await createImage({ path, shape: { floppy: '1.44M' } });
      runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', path]);
    }
    const first = service();
    const mounted = await first.mount(image);
    // Pretend the app made it and died without releasing it: a pid that no longer runs. (Had a
    // CLI made it, `loopstudio mount`, it would be the user's until umount: not a leftover.)
    const deadPid = Number(runToolOk('sh', ['-c', 'echo $$']).stdout.trim());
    await first.journal.update((entries) => ({
      entries: entries.map((e) => ({ ...e, owner: { shell: 'cli' as const, pid: deadPid } })),
      value: undefined,
    }));
    expect((await service().list()).entries).toEqual([
      expect.objectContaining({
        mountDir: mounted.mountDir,
        leftover: false,
        reason: expect.stringMatching(/^kept: made by `loopstudio mount`/),
      }),
    ]);
    await first.journal.update((entries) => ({
      entries: entries.map((e) => ({ ...e, owner: { shell: 'electron' as const, pid: deadPid } })),
      value: undefined,
    }));
    // A mount under the mount root that no journal knows (say the journal was deleted).
    const orphanDevice = attachOwn(stranger);
    const orphanDir = join(mountRoot, 'orphan');
    mkdirSync(orphanDir, { recursive: true });
    runToolOk('mount', ['-t', 'ext2', orphanDevice, orphanDir]);
    // And a loop device of the user's own, outside our root and journal: never touched.
    const mine = attachOwn(stranger);

    const fresh = service();
    const leftovers = await fresh.findLeftovers();
    expect(leftovers.map((e) => [e.mountDir, e.device, e.leftover])).toEqual(
      expect.arrayContaining([
        [mounted.mountDir, mounted.device, true],
        [orphanDir, orphanDevice, true],
      ]),
    );
    expect(leftovers).toHaveLength(2);
    const released = await fresh.cleanup();
    expect(released.commands).toEqual(
      expect.arrayContaining([`/usr/bin/umount -- ${orphanDir}`, `/usr/sbin/losetup --detach ${orphanDevice}`]),
    );
    expect(mountsUnder(dir)).toEqual([]);
    expect(loopsUnder(dir).map((l) => l.device)).toEqual([mine]);
    expect(await fresh.findLeftovers()).toEqual([]);
  });

  it('leaves no intent behind when the prompt is refused or a step fails', async () => {
    const image = join(dir, 'refused.img');
    await createImage({ path: image, shape: { floppy: '1.44M' } });
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', image]);
    const refusing = service({
      privileged: async () => {
        throw new LoopbackError('CANCELLED', 'You did not grant permission: nothing was changed');
      },
    });
    await expect(refusing.mount(image)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await refusing.journal.read()).toEqual([]);
    expect(readdirSync(mountRoot).filter((name) => name.startsWith('refused'))).toEqual([]);

    const full = join(dir, 'full-dir');
    mkdirSync(full);
    writeFileSync(join(full, 'precious.txt'), 'x');
    const loops = service();
    await expect(loops.mount(image, { dir: full })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('is not empty'),
    });
    expect(await loops.journal.read()).toEqual([]);
    expect(loopsUnder(dir)).toEqual([]);
    expect(readFileSync(join(full, 'precious.txt'), 'utf8')).toBe('x');
  });

  it('refuses to detach a device it did not attach', async () => {
    const image = join(dir, 'theirs.img');
    writeFileSync(image, Buffer.alloc(1024 * 1024));
    const device = attachOwn(image);
    await expect(service().detach(device)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('was not attached by Loopback Studio'),
    });
    expect(loopsUnder(dir).map((l) => l.device)).toEqual([device]);
  });
});

describe.skipIf(skip)(skipTitle('hostile image names through attach, mount, umount and detach', skip), () => {
  const marker = `/tmp/loopstudio-pwned-${randomUUID()}`;
  const names = [
    `$(touch ${marker}) 'q"x\`.img`,
    `\`touch ${marker}\`.img`,
    "with spaces and 'quotes'.img",
    'back\\slash \\$HOME \\n.img',
    'new\nline\ttab.img',
    'ünïcødé 日本語.img',
    '--leading-dash.img',
  ];

  async function roundTrip(loops: LoopService, image: string, formatThroughLoop: boolean): Promise<void> {
    await createImage({ path: image, shape: { floppy: '1.44M' } });
    if (formatThroughLoop) {
      const formatted = await loopFormat(image, undefined, 'ext2', { loops });
      expect(formatted.usage?.type).toBe('ext2');
    } else {
      runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', image]);
    }
    const attached = await loops.attach(image);
    expect(liveLoops().find((l) => l.device === attached.device)?.backingFile).toBe(image);
    await loops.detach(attached.device!);
    const mounted = await loops.mount(image);
    runToolOk('cp', [payload, join(mounted.mountDir!, 'copied')]);
    await loops.unmount(mounted.mountDir!);
    expect(checkExt2(image, 0, null, 'cat /copied').debugfs).toBe(PAYLOAD);
  }

  it.each(names)('%j, with the helper started directly (root)', async (name) => {
    const base = join(dir, 'direct');
    const image = join(base, name);
    mkdirSync(dirname(image), { recursive: true });
    const before = tree(dir).filter((p) => !p.startsWith('direct/') && !p.startsWith('run/') && !p.startsWith('state/'));
    await roundTrip(service(), image, name === names[0] || name === names[4]);
    expect(loopsUnder(dir)).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    // Nothing appeared anywhere in the test folder but the image itself.
    expect(tree(dir).filter((p) => !p.startsWith('direct/') && !p.startsWith('run/') && !p.startsWith('state/'))).toEqual(before);
    expect(tree(base).filter((p) => statSync(join(base, p)).isFile())).toContain(image.slice(base.length + 1));
  });

  it.skipIf(process.platform !== 'linux').each([names[0]!, names[3]!, names[4]!])(
    '%j, through sudo-prompt’s command line and shells',
    async (name) => {
      const image = join(dir, 'prompted', name);
      mkdirSync(dirname(image), { recursive: true });
      await withSudoPromptShim('grant', async (shim) => {
        await roundTrip(service({ privileged: throughSudoPrompt }), image, name === names[0]);
        expect(shim.shellCommands.length).toBeGreaterThanOrEqual(4);
      });
      expect(loopsUnder(dir)).toEqual([]);
      expect(existsSync(marker)).toBe(false);
    },
  );
});

const vfat = vfatSkipReason();
describe.skipIf(skip || vfat)(skipTitle('FAT mounted for the user', skip || vfat), () => {
  it('mounts FAT with uid/gid, takes a plain cp, and fsck.fat and mtools agree after umount', async () => {
    const image = join(dir, 'fat.img');
    await createImage({ path: image, shape: { floppy: '1.44M' } });
    const loops = service();
    await loopFormat(image, undefined, 'fat12', { loops });
    const mounted = await loops.mount(image);
    expect(readFileSync('/proc/self/mounts', 'utf8')).toMatch(new RegExp(`${mounted.mountDir} vfat \\S*uid=${process.getuid!()}`));
    runToolOk('cp', [payload, join(mounted.mountDir!, 'HOSTNAME.TXT')]);
    await loops.unmount(mounted.mountDir!);
    expect(runTool('fsck.fat', ['-n', image]).status).toBe(0);
    expect(runToolOk('mdir', ['-i', image, '::']).stdout).toMatch(/HOSTNAME TXT/);
  });
});

describe.skipIf(skip || !grub2InstallHere)(
  skipTitle('GRUB 2’s grub-install through a loop device', skip || (!grub2InstallHere && 'GRUB 2’s grub-install is not installed here')),
  () => {
    it('installs GRUB 2 with the host’s grub-install (whole disk + the partition by offset, a device.map for both); the image boots; nothing of ours is left', async () => {
      const image = join(dir, 'grub-install.img');
      await createImage({ path: image, shape: { size: 64 * 1024 * 1024 } });
      await partitionImage(image, { table: 'mbr', steps: [{ op: 'add', spec: 'start=2048,size=rest,type=83,bootable' }] });
      await loopFormat(image, 1, 'ext2', { loops: service() });
      const mbrBefore = readFileSync(image).subarray(0, 440);
      const result = await service().grubInstall(image, 1);
      expect(
        result.commands.some((c) =>
          /grub-install --target=i386-pc '?--boot-directory=.*'? '?--modules=part_msdos'? \/dev\/loop\d+$/.test(c),
        ),
        result.commands.join('\n'),
      ).toBe(true);
      expect(result.commands.some((c) => /device\.map/.test(c))).toBe(true);
      expect(readFileSync(image).subarray(0, 440).equals(mbrBefore)).toBe(false);
      expect(loopsUnder(dir)).toEqual([]);
      expect(mountsUnder(dir)).toEqual([]);
      const check = checkExt2(image, 2048 * 512, null, 'ls /boot/grub');
      expect(check.fsck).toBe(0);
      expect(check.debugfs).toMatch(/i386-pc/);
      // The device.map named this machine's loop devices: it is not left in the image.
      expect(check.debugfs).not.toMatch(/device\.map/);
      if (bootTestsMissing()) return;
      // A kernel and a grub.cfg, rootless, and GRUB as grub-install set it up boots it.
      const kernel = buildTestKernel(dir);
      await cliOk('put', image, '-p', '1', kernel, '/boot/kernel.elf');
      writeFileSync(
        join(dir, 'grub.cfg'),
        'serial --unit=0 --speed=115200\nterminal_output serial\nset timeout=0\nmenuentry test {\n  multiboot /boot/kernel.elf\n  boot\n}\n',
      );
      await cliOk('put', image, '-p', '1', join(dir, 'grub.cfg'), '/boot/grub/grub.cfg');
      const boot = await bootAndExpect(image, KERNEL_LINE);
      expect(boot.matched, boot.output).toBe(true);
    }, 90_000);
  },
);

describe.skipIf(skip || grub2InstallHere)(
  skipTitle(
    'GRUB 2’s grub-install where the host lacks it (grub-legacy’s grub-install does not count)',
    skip || (grub2InstallHere && 'GRUB 2’s grub-install is installed here'),
  ),
  () => {
    it('says which package to install, before asking for any password', async () => {
      const image = join(dir, 'grub.img');
      await createImage({ path: image, shape: { chs: '20/16/63' } });
      await partitionImage(image, { table: 'mbr', steps: [{ op: 'add', spec: 'start=63,size=rest,type=83' }] });
      let asked = false;
      const loops = service({
        privileged: async (request) => {
          asked = true;
          return asRoot(request);
        },
      });
      await expect(loops.grubInstall(image, 1)).rejects.toMatchObject({
        code: 'HOST_TOOL_MISSING',
        message: expect.stringMatching(/GRUB 2's grub-install is not installed.*: .*grub2-common/),
      });
      expect(asked).toBe(false);
    });
  },
);
