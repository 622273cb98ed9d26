/**
 * The privileged helper's refusals, for real, as root: each request goes to the real helper
 * process (started directly, as the app does when it is root) and each check is then confirmed
 * with the system's own view (losetup, /proc/self/mounts, the disk's bytes, e2fsck).
 *
 * Safety of the tests themselves: the only devices they make or detach are loop devices backed by
 * files in their own temporary folder; the machine's disk is only ever *read* (to prove it did
 * not change). Should a check ever be broken, the request that names the disk asks for mkfs on
 * the device mounted at /, which mke2fs itself refuses ("is mounted; will not make a filesystem").
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import {
  attachOwn,
  detachIfBackedBy,
  loopSkipReason,
  skipTitle,
  loopsUnder,
  settledLoopsUnder,
  mountsUnder,
  releaseUnder,
  rootDiskDevice,
} from '../../tests/support/loops';
import { isGrub2Version } from '../platform/grub';
import { majorMinor } from './checks';
import { helperLaunch, runPrivileged, type HelperOutcome } from './elevate';
import { describeRequest, encodeRequest, type HelperRequest, type HelperStep } from './request';

const skip = loopSkipReason();

let dir: string;
let cleanup: () => void;
let image: string;
let decoy: string;

const MiB = 1024 * 1024;

function makeExt2(path: string, sizeBytes: number): void {
  writeFileSync(path, '');
  runToolOk('truncate', ['-s', String(sizeBytes), path]);
  runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', path]);
}

const sha = (path: string, bytes = MiB): string => {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    readSync(fd, buffer, 0, bytes, 0);
    return createHash('sha256').update(buffer).digest('hex');
  } finally {
    closeSync(fd);
  }
};

/** The real helper process, as `npm run build` built it (out/privileged/helper.cjs). */
const helper = async (steps: HelperStep[], owner = { uid: 0, gid: 0 }, launchEnv: Record<string, string> = {}): Promise<HelperOutcome> => {
  const launch = helperLaunch();
  return runPrivileged({ version: 1, owner, steps }, { mode: 'direct', launch: { ...launch, env: { ...launch.env, ...launchEnv } } });
};

function readable(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

/** The first step's refusal: its code, its message, and proof that it ran nothing. */
function refusal(outcome: HelperOutcome): { code: string | undefined; message: string | undefined; ran: number } {
  const failed = outcome.steps.find((s) => !s.ok && !s.rollback);
  return { code: failed?.error?.code, message: failed?.error?.message, ran: failed?.commands.length ?? -1 };
}

/** A /dev name no loop device uses, for nodes and links the tests put there for a moment. */
function unusedLoopName(): string {
  for (;;) {
    const candidate = `/dev/loop${4000 + Math.floor(Math.random() * 4000)}`;
    try {
      lstatSync(candidate);
    } catch {
      return candidate;
    }
  }
}

describe.skipIf(skip)(skipTitle('the privileged helper refuses, for real', skip), () => {
  beforeAll(() => {
    ({ dir, cleanup } = tempDir('loopstudio-helper-'));
    image = join(dir, 'target.img');
    decoy = join(dir, 'decoy.img');
    makeExt2(image, 8 * MiB);
    makeExt2(decoy, 8 * MiB);
  });
  afterEach(() => releaseUnder(dir));
  afterAll(() => {
    releaseUnder(dir);
    cleanup();
  });

  it.skipIf(!rootDiskDevice())("the machine's own disk, by any name, and leaves its bytes as they were", async () => {
    const disk = rootDiskDevice()!;
    // Some sandboxes forbid even root to open the disk: then the refusals are checked without the bytes.
    const before = readable(disk) ? sha(disk) : null;
    const m = join(dir, 'm-disk');
    mkdirSync(m);
    const steps = [
      { op: 'mkfs', device: disk, image, fs: 'ext2' },
      { op: 'mount', device: disk, image, dir: m, family: 'ext2' },
      { op: 'detach', device: disk, image },
    ] satisfies HelperStep[];
    for (const outcome of await Promise.all(steps.map((step) => helper([step])))) {
      expect(outcome.ok).toBe(false);
      expect(refusal(outcome)).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining('is not a loop device'), ran: 0 });
    }
    const names = ['/dev/sda', '/dev/vda', '/dev/nvme0n1', '/dev/mmcblk0', '/dev/hda', '/dev/sdb1'];
    const refusals = await Promise.all(names.map((name) => helper([{ op: 'mkfs', device: name, image, fs: 'fat32' }])));
    expect(refusals.map((r) => refusal(r).code)).toEqual(names.map(() => 'FORBIDDEN'));
    if (before !== null) expect(sha(disk)).toBe(before);
    expect(mountsUnder(dir)).toEqual([]);
  });

  it.skipIf(!rootDiskDevice())('a symbolic link named like a loop device that points at the disk', async () => {
    const disk = rootDiskDevice()!;
    const inDev = unusedLoopName();
    const inTmp = join(dir, 'loop0');
    symlinkSync(disk, inDev);
    symlinkSync(disk, inTmp);
    try {
      expect(refusal(await helper([{ op: 'mkfs', device: inDev, image, fs: 'ext2' }]))).toEqual({
        code: 'FORBIDDEN',
        message: expect.stringContaining('is a symbolic link'),
        ran: 0,
      });
      expect(refusal(await helper([{ op: 'mkfs', device: inTmp, image, fs: 'ext2' }])).message).toContain('is not a loop device');
    } finally {
      rmSync(inDev, { force: true });
    }
  });

  it.skipIf(!rootDiskDevice())('a device node named like a loop device that is really the disk (by its numbers)', async () => {
    const disk = rootDiskDevice()!;
    const [major, minor] = majorMinor(statSync(disk, { bigint: true }).rdev);
    const fake = unusedLoopName();
    runToolOk('mknod', [fake, 'b', String(major), String(minor)]);
    try {
      const r = refusal(await helper([{ op: 'mkfs', device: fake, image, fs: 'ext2' }]));
      expect(r).toEqual({ code: 'FORBIDDEN', message: expect.stringMatching(/is not loop\d+ but/), ran: 0 });
    } finally {
      rmSync(fake, { force: true });
    }
  });

  it('a loop device backed by another file (a decoy the test attached), for mkfs and for detach', async () => {
    const before = sha(decoy, 8 * MiB);
    const device = attachOwn(decoy);
    try {
      const mkfs = refusal(await helper([{ op: 'mkfs', device, image, fs: 'fat16' }]));
      expect(mkfs).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining(`is attached to "${decoy}", not to "${image}"`), ran: 0 });
      expect(refusal(await helper([{ op: 'detach', device, image }])).code).toBe('FORBIDDEN');
      expect(loopsUnder(dir).map((l) => l.device)).toEqual([device]);
      expect(sha(decoy, 8 * MiB)).toBe(before);
    } finally {
      detachIfBackedBy(device, decoy);
    }
  });

  it('a loop device whose file was replaced by another with the same name', async () => {
    const replaced = join(dir, 'replaced.img');
    makeExt2(replaced, 4 * MiB);
    const device = attachOwn(replaced);
    rmSync(replaced);
    makeExt2(replaced, 4 * MiB);
    const r = refusal(await helper([{ op: 'mkfs', device, image: replaced, fs: 'ext2' }]));
    expect(r.code).toBe('FORBIDDEN');
    expect(r.message).toContain('(deleted)');
  });

  it('mkfs on a mounted loop device, or on another loop device of a mounted image', async () => {
    const m = join(dir, 'm-busy');
    mkdirSync(m);
    const mounted = await helper([
      { op: 'attach', image },
      { op: 'mount', device: { step: 0 }, image, dir: m, family: 'ext2' },
    ]);
    expect(mounted.ok).toBe(true);
    const device = mounted.steps[0]!.device!;
    writeFileSync(join(m, 'keep.txt'), 'still here\n');

    const direct = refusal(await helper([{ op: 'mkfs', device, image, fs: 'ext2' }]));
    expect(direct).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining(`${device} is mounted at ${m}`), ran: 0 });

    // A second device over the mounted bytes is refused at its attach, before any mkfs.
    const second = await helper([
      { op: 'attach', image },
      { op: 'mkfs', device: { step: 0 }, image, fs: 'ext2' },
    ]);
    expect(refusal(second)).toEqual({
      code: 'IN_USE',
      message: expect.stringContaining(`already attached as ${device} (from offset 0, read-write, mounted at ${m})`),
      ran: 0,
    });
    expect(loopsUnder(dir).map((l) => l.device)).toEqual([device]);

    const released = await helper([{ op: 'sync' }, { op: 'unmount', dir: m, image }, { op: 'detach', device, image }]);
    expect(released.ok).toBe(true);
    expect(runTool('e2fsck', ['-fn', image]).status).toBe(0);
    expect(runToolOk('debugfs', ['-R', 'cat /keep.txt', image]).stdout).toBe('still here\n');
  });

  it('unmounting anything that is not a mount of the image', async () => {
    // "/" is not even a valid request (mount points are absolute paths below /).
    const root = await helper([{ op: 'unmount', dir: '/', image }]);
    expect(root).toMatchObject({ ok: false, steps: [], final: { error: { code: 'INVALID_INPUT' } } });
    // A mount that is not a loop device of the image (a tmpfs the test made) stays mounted.
    const other = join(dir, 'm-tmpfs');
    mkdirSync(other);
    runToolOk('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'loopstudio-test', other]);
    const r = refusal(await helper([{ op: 'unmount', dir: other, image }]));
    expect(r).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining('loopstudio-test is not a loop device'), ran: 0 });
    expect(mountsUnder(dir)).toEqual([other]);
  });

  it('a mount point that is not empty, or reached through a link — and undoes the attach', async () => {
    const full = join(dir, 'm-full');
    mkdirSync(full);
    writeFileSync(join(full, 'precious'), 'x');
    const outcome = await helper([
      { op: 'attach', image },
      { op: 'mount', device: { step: 0 }, image, dir: full, family: 'ext2' },
    ]);
    expect(refusal(outcome).message).toContain('is not empty');
    expect(outcome.steps.at(-1)).toMatchObject({ op: 'detach', rollback: true, ok: true });
    expect(await settledLoopsUnder(dir)).toEqual([]);

    const real = join(dir, 'm-real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'm-link'));
    expect(
      refusal(
        await helper([
          { op: 'attach', image },
          { op: 'mount', device: { step: 0 }, image, dir: join(dir, 'm-link'), family: 'ext2' },
        ]),
      ).message,
    ).toContain('symbolic link');
    expect(await settledLoopsUnder(dir)).toEqual([]);
  });

  it('a device that shows another range of the image than the one asked for', async () => {
    const outcome = await helper([
      { op: 'attach', image, offsetBytes: 1024 * 1024, sizeBytes: 2 * MiB },
      { op: 'mkfs', device: { step: 0 }, image, fs: 'ext2', expect: { offsetBytes: 0, sizeBytes: null } },
    ]);
    expect(refusal(outcome)).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('shows bytes 1048576') });
    expect(await settledLoopsUnder(dir)).toEqual([]);
  });

  it('files for a user other than the one who asked (pkexec says uid 12345 asked)', async () => {
    const outcome = await helper([{ op: 'sync' }], { uid: 0, gid: 0 }, { PKEXEC_UID: '12345' });
    expect(outcome.ok).toBe(false);
    expect(outcome.final.error?.message).toContain('uid 12345 asked');
    expect(outcome.steps).toEqual([]);
  });

  it("to attach read-write an image the asking user may only read (sudo says uid 65534, 'nobody', asked)", async () => {
    // A folder everyone can search, an image only root may write.
    const shared = join(dir, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(shared, 0o755);
    chmodSync(dir, 0o755);
    const readOnlyImage = join(shared, 'root-owned.img');
    makeExt2(readOnlyImage, 4 * MiB);
    chmodSync(readOnlyImage, 0o644);
    const before = sha(readOnlyImage);
    const nobody = { uid: 65534, gid: 65534 };
    const writing = await helper([{ op: 'attach', image: readOnlyImage }], nobody, { SUDO_UID: '65534' });
    expect(refusal(writing)).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining('uid 65534 may not write'), ran: 0 });
    expect(await settledLoopsUnder(dir)).toEqual([]);
    // Read-only is what that user may have.
    const reading = await helper([{ op: 'attach', image: readOnlyImage, readOnly: true }], nobody, { SUDO_UID: '65534' });
    expect(reading.ok).toBe(true);
    const device = reading.steps[0]!.device!;
    expect(runToolOk('losetup', ['-n', '-O', 'RO', device]).stdout.trim()).toBe('1');
    detachIfBackedBy(device, readOnlyImage);
    // A folder above the image that the user cannot search hides it from them entirely.
    chmodSync(shared, 0o700);
    const hidden = await helper([{ op: 'attach', image: readOnlyImage, readOnly: true }], nobody, { SUDO_UID: '65534' });
    expect(refusal(hidden)).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('is not searchable') });
    expect(sha(readOnlyImage)).toBe(before);
  });

  it('a second device over bytes a live one already shows (two read-write mounts lose writes)', async () => {
    const first = attachOwn(image, ['--offset', String(MiB), '--sizelimit', String(2 * MiB)]);
    try {
      for (const step of [
        { op: 'attach', image },
        { op: 'attach', image, offsetBytes: 2 * MiB, sizeBytes: MiB },
        { op: 'attach', image, readOnly: true },
      ] satisfies HelperStep[]) {
        const outcome = await helper([step]);
        expect(refusal(outcome)).toEqual({ code: 'IN_USE', message: expect.stringContaining(`already attached as ${first}`), ran: 0 });
      }
      // Outside its bytes, and read-only beside read-only, is fine.
      const beside = await helper([{ op: 'attach', image, offsetBytes: 4 * MiB, sizeBytes: MiB }]);
      expect(beside.ok).toBe(true);
      detachIfBackedBy(beside.steps[0]!.device!, image);
    } finally {
      detachIfBackedBy(first, image);
    }
    const readOnly = attachOwn(image, ['-r']);
    try {
      const alsoReadOnly = await helper([{ op: 'attach', image, readOnly: true }]);
      expect(alsoReadOnly.ok).toBe(true);
      detachIfBackedBy(alsoReadOnly.steps[0]!.device!, image);
    } finally {
      detachIfBackedBy(readOnly, image);
    }
    expect(await settledLoopsUnder(dir)).toEqual([]);
  });

  it('a request whose words on the command line (what the prompt showed) differ from what it asks', () => {
    const launch = helperLaunch();
    const request: HelperRequest = { version: 1, owner: { uid: 0, gid: 0 }, steps: [{ op: 'attach', image }] };
    const lie = describeRequest({ ...request, steps: [{ op: 'sync' }] });
    const run = runTool(launch.program, [...launch.args, lie, encodeRequest(request)]);
    expect(run.status).toBe(2);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_INPUT', message: expect.stringContaining('does not match') },
    });
    expect(describeRequest(request)).toBe(`Loopback Studio, as root: 1. attach ${image} to a loop device read-write`);
  });

  it.skipIf(!hasTool('setpriv'))('to run at all when it is not root', () => {
    const launch = helperLaunch();
    const run = runTool(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', launch.program, ...launch.args, 'Loopback Studio, as root: 1. sync', 'e30'],
      {
        env: { HOME: dir },
      },
    );
    expect(run.status).toBe(2);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      done: true,
      ok: false,
      error: { code: 'FORBIDDEN', message: 'the helper must run as root' },
    });
  });
});

describe.skipIf(skip || !hasTool('sfdisk'))(
  skipTitle('partition nodes (--partscan), the way grub-install needs them', skip || missingTools('sfdisk')),
  () => {
    beforeAll(() => {
      ({ dir, cleanup } = tempDir('loopstudio-partscan-'));
    });
    afterAll(() => {
      releaseUnder(dir);
      cleanup();
    });

    it('mounts /dev/loopNp1 after checking it shows exactly partition 1, then grub-install gets that far', async () => {
      const disk = join(dir, `disk ${randomUUID().slice(0, 4)}.img`);
      writeFileSync(disk, '');
      runToolOk('truncate', ['-s', String(16 * MiB), disk]);
      runToolOk('sfdisk', ['-q', disk], { input: 'start=63,type=83\n' });
      const partBytes = 16 * MiB - 63 * 512;
      runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-E', `offset=${63 * 512}`, disk, String(Math.floor(partBytes / 1024))]);
      const m = join(dir, 'boot-mnt');
      mkdirSync(m);
      const outcome = await helper([
        { op: 'attach', image: disk, partscan: true },
        {
          op: 'mount',
          device: { step: 0, partition: 1 },
          image: disk,
          dir: m,
          family: 'ext2',
          expect: { offsetBytes: 63 * 512, sizeBytes: partBytes - (partBytes % 512) },
          chownRoot: false,
        },
        { op: 'grub-install', device: { step: 0 }, image: disk, mountDir: m, target: 'i386-pc' },
        { op: 'sync' },
        { op: 'unmount', dir: m, image: disk },
        { op: 'detach', device: { step: 0 }, image: disk },
      ]);
      const [attach, mount] = outcome.steps;
      expect(attach).toMatchObject({ op: 'attach', ok: true });
      expect(mount).toMatchObject({ op: 'mount', ok: true, device: `${attach!.device}p1` });
      const grub2 = ['grub-install', 'grub2-install'].some((name) => hasTool(name) && isGrub2Version(runTool(name, ['--version']).stdout));
      const grubStep = outcome.steps.find((s) => s.op === 'grub-install' && !s.rollback)!;
      if (grub2 && !outcome.ok) {
        // GRUB 2.06 on Linux: it asks /dev/loopNp1 for HDIO_GETGEO, which loop partitions do not
        // answer (measured), so it stops before the MBR; the helper says so and rolls back.
        expect(grubStep.error).toMatchObject({
          code: 'IO',
          message: expect.stringMatching(/cannot find a GRUB drive for \/dev\/loop\d+p1.*HDIO_GETGEO/),
        });
        expect(outcome.steps.filter((s) => s.rollback).map((s) => [s.op, s.ok])).toEqual([
          ['unmount', true],
          ['detach', true],
        ]);
      } else if (grub2) {
        expect(outcome.ok).toBe(true);
      } else {
        // Every check passed (whole device of this image, /boot on its mounted partition): only
        // GRUB 2's tool is missing (grub-legacy's grub-install, if there, was asked and declined).
        const grub = grubStep;
        expect(grub.error).toMatchObject({
          code: 'HOST_TOOL_MISSING',
          message: expect.stringContaining("GRUB 2's grub-install is not installed"),
        });
        expect(grub.commands[0]).toEqual({ argv: ['mkdir', `${m}/boot`], exitCode: 0, builtin: true });
        expect(grub.commands.slice(1).every((c) => c.argv.at(-1) === '--version')).toBe(true);
        expect(outcome.steps.filter((s) => s.rollback).map((s) => [s.op, s.ok])).toEqual([
          ['unmount', true],
          ['detach', true],
        ]);
      }
      expect(await settledLoopsUnder(dir)).toEqual([]);
      expect(mountsUnder(dir)).toEqual([]);
      // The partition is still a clean ext2, now with the /boot folder the grub-install step made.
      const check = attachOwn(disk, ['--offset', String(63 * 512)]);
      try {
        expect(runTool('e2fsck', ['-fn', check]).status).toBe(0);
        expect(runToolOk('debugfs', ['-R', 'stat /boot', check]).stdout).toMatch(/Type: directory/);
      } finally {
        detachIfBackedBy(check, disk);
      }
    });

    it('refuses a device.map through a link: /boot/grub in the image pointing at a host folder', async () => {
      const disk = join(dir, `linked ${randomUUID().slice(0, 4)}.img`);
      writeFileSync(disk, '');
      runToolOk('truncate', ['-s', String(16 * MiB), disk]);
      runToolOk('sfdisk', ['-q', disk], { input: 'start=2048,type=83\n' });
      const partBytes = 16 * MiB - 2048 * 512;
      runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-E', `offset=${2048 * 512}`, disk, String(partBytes / 1024)]);
      // Inside the image, /boot/grub is a symlink to a folder on the host.
      const hostTarget = join(dir, 'host-folder');
      mkdirSync(hostTarget);
      const part = attachOwn(disk, ['--offset', String(2048 * 512)]);
      try {
        runToolOk('debugfs', ['-w', '-R', 'mkdir /boot', part]);
        runToolOk('debugfs', ['-w', '-R', `symlink /boot/grub ${hostTarget}`, part]);
      } finally {
        detachIfBackedBy(part, disk);
      }
      const m = join(dir, 'linked-mnt');
      mkdirSync(m);
      const outcome = await helper([
        { op: 'attach', image: disk },
        { op: 'attach', image: disk, offsetBytes: 2048 * 512, sizeBytes: partBytes },
        {
          op: 'mount',
          device: { step: 1 },
          image: disk,
          dir: m,
          family: 'ext2',
          expect: { offsetBytes: 2048 * 512, sizeBytes: partBytes },
          chownRoot: false,
        },
        {
          op: 'grub-install',
          device: { step: 0 },
          bootDevice: { step: 1 },
          modules: ['part_msdos'],
          image: disk,
          mountDir: m,
          target: 'i386-pc',
        },
      ]);
      expect(refusal(outcome)).toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringMatching(/boot\/grub exists and is not a folder/),
      });
      expect(readdirSync(hostTarget)).toEqual([]);
      expect(await settledLoopsUnder(dir)).toEqual([]);
      expect(mountsUnder(dir)).toEqual([]);
    });
  },
);
