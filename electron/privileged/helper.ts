/**
 * The privileged helper: the one door to root (docs/SECURITY.md, rules 1–4). It runs a validated
 * request's steps in order, checking each target right before touching it (checks.ts), spawning
 * programs from argument arrays found in the system folders only, and reporting every step — with
 * the exact commands it ran — as one JSON line. When a step fails, what the batch already did is
 * undone (unmount, detach), each undo checked like any other step.
 *
 * helper-main.ts is the process entry point; this module is the logic, so tests can drive it.
 */
import { promises as fs } from 'node:fs';
import { LoopbackError, serializeError } from '../../shared/errors';
import { findGrub2Install } from '../platform/grub';
import { firstFreeUnit } from '../platform/loop/bsd';
import { imageHolders } from '../platform/image-holders';
import { partxAdd } from '../platform/loop/linux';
import type { HostCommand, LoopBackend } from '../platform/loop/types';
import type { CommandRun } from '../platform/run';
import { mountedReason, requireBackedBy, requireMountDir, requireUserAccess, resolveImage, type TargetInspector } from './checks';
import type { DeviceRef, FinalReport, HelperRequest, HelperStep, RanCommand, StepReport } from './request';

export interface HelperEnvironment {
  backend: LoopBackend;
  inspector: TargetInspector;
  /** Runs a program (found in the system folders only) to completion. */
  run(command: HostCommand): Promise<CommandRun>;
  /** The unprivileged user who asked (pkexec's PKEXEC_UID, sudo's SUDO_UID); null when root ran us directly. */
  invokerUid: number | null;
  /** The groups a user belongs to (to accept the gid asked for). */
  groupsOf(uid: number): Promise<number[]>;
  emit(line: StepReport | FinalReport): void;
  /** How long to wait for a partition node to appear (ms). */
  partitionWaitMs?: number;
}

type Undo = { op: 'unmount'; dir: string; image: string } | { op: 'detach'; device: string; image: string };

/** Runs the request; resolves true when every step succeeded. Never throws. */
export async function runRequest(request: HelperRequest, env: HelperEnvironment): Promise<boolean> {
  const attached = new Map<number, string>();
  const undo: Undo[] = [];
  try {
    await checkOwner(request, env);
  } catch (error) {
    env.emit({ done: true, ok: false, error: brief(error) });
    return false;
  }
  for (const [index, step] of request.steps.entries()) {
    const commands: RanCommand[] = [];
    try {
      const outcome = await runStep(step, { env, request, attached, undo, commands });
      if (step.op === 'attach' && outcome.device) attached.set(index, outcome.device);
      env.emit({ step: index, op: step.op, ok: true, commands, ...outcome });
    } catch (error) {
      env.emit({ step: index, op: step.op, ok: false, commands, error: brief(error) });
      if (request.rollbackOnError !== false) await rollback(undo, { env, request, attached, undo: [], commands: [] }, index);
      env.emit({ done: true, ok: false, error: brief(error) });
      return false;
    }
  }
  env.emit({ done: true, ok: true });
  return true;
}

/**
 * One writer per byte: a second loop device over bytes that a live one already shows (ours or
 * anyone's, found by the image's device and inode) is refused unless both are read-only — two
 * read-write mounts of one filesystem silently lose each other's writes. Devices this batch
 * attached itself (grub-install's whole disk beside its partition) are the batch's own business.
 */
async function requireRangeFree(
  image: string,
  step: { offsetBytes?: number | undefined; sizeBytes?: number | undefined; readOnly?: boolean | undefined },
  ownDevices: ReadonlySet<string>,
): Promise<void> {
  const start = step.offsetBytes ?? 0;
  const end = step.sizeBytes ? start + step.sizeBytes : Number.MAX_SAFE_INTEGER;
  for (const holder of await imageHolders(image)) {
    if (ownDevices.has(holder.device) || (holder.readOnly && step.readOnly)) continue;
    const holderEnd = holder.sizeBytes === null ? Number.MAX_SAFE_INTEGER : holder.offsetBytes + holder.sizeBytes;
    if (start < holderEnd && holder.offsetBytes < end) {
      const mounted = holder.mounts[0] ? `, mounted at ${holder.mounts[0].mountPoint}` : '';
      throw new LoopbackError(
        'IN_USE',
        `${image}: those bytes are already attached as ${holder.device} (from offset ${holder.offsetBytes}${holder.readOnly ? ', read-only' : ', read-write'}${mounted}); a second device over them would let two writers lose each other's changes. Use ${holder.device}${holder.mounts[0] ? ` or its mount` : ''}, or release it first.`,
        { image, device: holder.device },
      );
    }
  }
}

function brief(error: unknown): { code: string; message: string } {
  const { code, message } = serializeError(error);
  return { code, message };
}

/** The owner asked for must be the user who asked (when an unprivileged user asked). */
async function checkOwner(request: HelperRequest, env: HelperEnvironment): Promise<void> {
  if (env.invokerUid === null || env.invokerUid === 0) return;
  const { uid, gid } = request.owner;
  if (uid !== env.invokerUid)
    throw new LoopbackError('FORBIDDEN', `the request is for uid ${uid}, but uid ${env.invokerUid} asked: refused`);
  if (!(await env.groupsOf(uid)).includes(gid)) throw new LoopbackError('FORBIDDEN', `uid ${uid} is not in group ${gid}: refused`);
}

interface StepContext {
  env: HelperEnvironment;
  request: HelperRequest;
  attached: Map<number, string>;
  undo: Undo[];
  commands: RanCommand[];
}

async function exec(ctx: StepContext, command: HostCommand): Promise<CommandRun> {
  const run = await ctx.env.run(command);
  ctx.commands.push({ argv: run.argv, exitCode: run.exitCode });
  if (run.exitCode !== 0) {
    const said = (run.stderr.trim() || run.stdout.trim()).split('\n').slice(-4).join(' / ');
    throw new LoopbackError(
      'IO',
      `${command.program} ${run.signal ? `was killed (${run.signal})` : `failed (exit ${run.exitCode})`}${said ? `: ${said}` : ''}`,
    );
  }
  return run;
}

async function runStep(step: HelperStep, ctx: StepContext): Promise<Pick<StepReport, 'device' | 'dir'>> {
  const { env } = ctx;
  const { backend, inspector } = env;
  switch (step.op) {
    case 'attach': {
      // The canonical path goes to the kernel, so its backing_file names the image itself.
      const image = (await resolveImage(step.image)).path;
      if (env.invokerUid !== null) {
        await requireUserAccess(
          image,
          { uid: env.invokerUid, groups: await env.groupsOf(env.invokerUid) },
          step.readOnly ? 'read' : 'write',
        );
      }
      await requireRangeFree(image, step, new Set(ctx.attached.values()));
      const spec = {
        image,
        ...(step.offsetBytes ? { offsetBytes: step.offsetBytes } : {}),
        ...(step.sizeBytes ? { sizeBytes: step.sizeBytes } : {}),
        ...(step.partscan ? { partscan: true } : {}),
        ...(step.readOnly ? { readOnly: true } : {}),
      };
      let unit: number | undefined;
      if (backend.attachNeedsUnit) {
        const list = backend.list();
        const free = list ? firstFreeUnit(backend.parseList((await exec(ctx, list)).stdout)) : null;
        if (free === null) throw new LoopbackError('IO', `no free ${backend.tool} device`);
        unit = free;
      }
      const run = await exec(ctx, backend.attach(spec, unit));
      const device = backend.parseAttach(run.stdout, unit);
      ctx.undo.push({ op: 'detach', device, image });
      await requireBackedBy(inspector, device, image, { offsetBytes: step.offsetBytes ?? 0, sizeBytes: step.sizeBytes ?? null });
      return { device };
    }
    case 'detach': {
      const device = await resolveDevice(step.device, ctx, step.image);
      const identity = await requireBackedBy(inspector, device, step.image);
      if (identity.partition !== null) throw new LoopbackError('INVALID_INPUT', `${device} is a partition; detach ${identity.whole}`);
      const busy = (await inspector.mounts()).find((m) => m.source === device || backend.wholeDevice(m.source) === identity.whole);
      if (busy) throw new LoopbackError('VALIDATION', `${busy.source} is still mounted at ${busy.mountPoint}: unmount it first`);
      await exec(ctx, backend.detach(device));
      forget(ctx.undo, (u) => u.op === 'detach' && u.device === device);
      return { device };
    }
    case 'mount': {
      const device = await resolveDevice(step.device, ctx, step.image);
      await requireBackedBy(inspector, device, step.image, step.expect);
      await requireMountDir(inspector, step.dir, ctx.request.owner.uid);
      const { uid, gid } = ctx.request.owner;
      await exec(
        ctx,
        backend.mount({ device, dir: step.dir, family: step.family, uid, gid, ...(step.readOnly ? { readOnly: true } : {}) }),
      );
      ctx.undo.push({ op: 'unmount', dir: step.dir, image: step.image });
      if (step.family === 'ext2' && !step.readOnly && step.chownRoot !== false) {
        // ext2 keeps owners: make the filesystem's root folder the user's, so they can write.
        await fs.chown(step.dir, uid, gid);
        ctx.commands.push({ argv: ['chown', `${uid}:${gid}`, step.dir], exitCode: 0, builtin: true });
      }
      return { device, dir: step.dir };
    }
    case 'unmount': {
      const mount = (await inspector.mounts()).find((m) => m.mountPoint === step.dir);
      if (!mount) throw new LoopbackError('NOT_FOUND', `nothing is mounted at ${step.dir}`);
      // Only a mount of this image: never `umount /` or someone else's disk.
      await requireBackedBy(inspector, mount.source, step.image);
      await exec(ctx, backend.unmount(step.dir));
      forget(ctx.undo, (u) => u.op === 'unmount' && u.dir === step.dir);
      return { device: mount.source, dir: step.dir };
    }
    case 'mkfs': {
      const device = await resolveDevice(step.device, ctx, step.image);
      const identity = await requireBackedBy(inspector, device, step.image, step.expect);
      const busy = await mountedReason(inspector, identity, step.image);
      if (busy) throw new LoopbackError('FORBIDDEN', `refusing to format ${device}: ${busy}`);
      await exec(
        ctx,
        backend.mkfs({
          device,
          fs: step.fs,
          ...(step.label !== undefined ? { label: step.label } : {}),
          ...(step.blocks1KiB !== undefined ? { blocks1KiB: step.blocks1KiB } : {}),
          ...(step.blockBytes !== undefined ? { blockBytes: step.blockBytes } : {}),
          ...(step.clusterBytes !== undefined ? { clusterBytes: step.clusterBytes } : {}),
          ...(step.hiddenSectors !== undefined ? { hiddenSectors: step.hiddenSectors } : {}),
          ...(step.heads !== undefined ? { heads: step.heads } : {}),
          ...(step.sectorsPerTrack !== undefined ? { sectorsPerTrack: step.sectorsPerTrack } : {}),
        }),
      );
      return { device };
    }
    case 'grub-install': {
      const device = await resolveDevice(step.device, ctx, step.image);
      const identity = await requireBackedBy(inspector, device, step.image, { offsetBytes: 0, sizeBytes: null });
      if (identity.partition !== null)
        throw new LoopbackError('INVALID_INPUT', `grub-install goes to the whole disk (${identity.whole}), not to ${device}`);
      const { bootDirectory, source } = await bootDirectoryOnImage(ctx, step.mountDir, step.image);
      const grub = await findGrub2Install(async (command) => {
        const run = await env.run(command);
        ctx.commands.push({ argv: run.argv, exitCode: run.exitCode });
        return run;
      });
      if (!grub.found) {
        throw new LoopbackError(
          'HOST_TOOL_MISSING',
          `GRUB 2's grub-install is not installed${grub.legacy ? ` (${grub.legacy} is GRUB legacy's)` : ''}`,
        );
      }
      const args = [`--target=${step.target}`, `--boot-directory=${bootDirectory}`];
      let deviceMap: string | null = null;
      if (step.bootDevice !== undefined) {
        const bootDevice = await resolveDevice(step.bootDevice, ctx, step.image);
        if (source !== bootDevice)
          throw new LoopbackError('FORBIDDEN', `${step.mountDir} is not ${bootDevice} mounted (it is ${source}): refused`);
        deviceMap = await writeDeviceMap(ctx, bootDirectory, [device, bootDevice]);
        args.push(`--modules=${(step.modules ?? []).join(' ')}`);
      }
      try {
        await exec(ctx, { program: grub.program, args: [...args, device] });
      } catch (error) {
        throw explainGrubInstallFailure(error, device);
      } finally {
        // It names this machine's loop devices: of no use to anyone booting the image later.
        if (deviceMap) await fs.rm(deviceMap, { force: true });
      }
      return { device };
    }
    case 'sync':
      await exec(ctx, { program: 'sync', args: [] });
      return {};
  }
}

/**
 * A device.map for grub-install in `boot/grub` of the mounted image: (hd0) the whole disk, (hd1)
 * the loop device of the partition holding /boot. grub-install then builds core.img to find /boot
 * by its filesystem UUID (search.fs_uuid), which at boot time is on (hd0,msdos1) or (hd0,gptN).
 * Written as root inside the user's filesystem, so never through a link: `grub` must be a real
 * folder and the file must not exist yet (O_EXCL, which also refuses a dangling link).
 */
async function writeDeviceMap(ctx: StepContext, bootDirectory: string, devices: string[]): Promise<string> {
  const grubDir = `${bootDirectory}/grub`;
  await realFolder(ctx, grubDir);
  const path = `${grubDir}/device.map`;
  await fs.rm(path, { force: true });
  const file = await fs.open(path, 'wx', 0o644);
  try {
    await file.writeFile(devices.map((device, i) => `(hd${i}) ${device}\n`).join(''));
  } finally {
    await file.close();
  }
  ctx.commands.push({ argv: ['write', path, ...devices.map((device, i) => `(hd${i}) ${device}`)], exitCode: 0, builtin: true });
  return path;
}

/**
 * grub-install's "cannot find a GRUB drive for /dev/loop0p1" on Linux: GRUB (2.06 and earlier)
 * asks a partition for its start with the HDIO_GETGEO ioctl, which loop partitions do not
 * answer (measured: ENOTTY), so it cannot tell which partition of the disk holds /boot. The
 * usual way round is a device-mapper mapping (kpartx), which GRUB reads instead; where the
 * kernel has no device-mapper there is none. The rootless install writes the same things.
 */
export function explainGrubInstallFailure(error: unknown, device: string): unknown {
  if (!(error instanceof LoopbackError) || !/cannot find a GRUB drive for \/dev\/loop\d+p\d+/.test(error.message)) return error;
  return new LoopbackError(
    'IO',
    `${error.message.replace(/\.+$/, '')}. This grub-install cannot place GRUB on a partition of a loop device (${device}): it asks the partition for its start with the HDIO_GETGEO ioctl, which loop partitions do not answer. It stopped before writing the MBR (its modules may already be in /boot/grub), and the image was unmounted and detached. Install GRUB 2 without root instead — loopstudio bootloader IMAGE -p N --grub2 writes boot.img, core.img and the modules the same way — or use a GRUB newer than 2.06.`,
    { ...(error.details ?? {}), cause: 'loop-partition-geometry' },
  );
}

function forget(undo: Undo[], match: (u: Undo) => boolean): void {
  const index = undo.findIndex(match);
  if (index >= 0) undo.splice(index, 1);
}

/** A device path, or the device (or partition node) an earlier attach step made. */
async function resolveDevice(ref: DeviceRef, ctx: StepContext, image: string): Promise<string> {
  if (typeof ref === 'string') return ref;
  const whole = ctx.attached.get(ref.step);
  if (!whole) throw new LoopbackError('INVALID_INPUT', `step ${ref.step} attached no device`);
  if (ref.partition === undefined) return whole;
  const node = ctx.env.backend.partitionDevice(whole, ref.partition);
  if (await exists(node)) return node;
  if (ctx.env.backend.system === 'linux') {
    // --partscan asks the kernel to read the table, which does not always happen at once: ask
    // again for the one partition, on the device just checked to be this image's.
    await requireBackedBy(ctx.env.inspector, whole, image);
    await exec(ctx, partxAdd(whole, ref.partition));
  }
  const deadline = Date.now() + (ctx.env.partitionWaitMs ?? 3000);
  while (Date.now() < deadline) {
    if (await exists(node)) return node;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new LoopbackError('NOT_FOUND', `${node} did not appear: does the image have partition ${ref.partition}?`);
}

const exists = (path: string): Promise<boolean> =>
  fs.lstat(path).then(
    () => true,
    () => false,
  );

/**
 * GRUB's folder: `boot` at the root of a mount of this very image (made when missing, never
 * through a link), so grub-install writes nowhere else.
 */
async function bootDirectoryOnImage(ctx: StepContext, mountDir: string, image: string): Promise<{ bootDirectory: string; source: string }> {
  const mount = (await ctx.env.inspector.mounts()).find((m) => m.mountPoint === mountDir);
  if (!mount) throw new LoopbackError('NOT_FOUND', `nothing is mounted at ${mountDir}`);
  await requireBackedBy(ctx.env.inspector, mount.source, image);
  const bootDirectory = `${mountDir.replace(/\/$/, '')}/boot`;
  await realFolder(ctx, bootDirectory);
  return { bootDirectory, source: mount.source };
}

/** `path` as a real folder (made when missing, recorded as a command): never a link, never a file. */
async function realFolder(ctx: StepContext, path: string): Promise<void> {
  const existing = await fs.lstat(path).catch(() => null);
  if (existing && !existing.isDirectory()) throw new LoopbackError('FORBIDDEN', `${path} exists and is not a folder (a link?): refused`);
  if (!existing) {
    await fs.mkdir(path, { mode: 0o755 });
    ctx.commands.push({ argv: ['mkdir', path], exitCode: 0, builtin: true });
  }
}

async function rollback(undo: Undo[], ctx: StepContext, failedStep: number): Promise<void> {
  for (const item of [...undo].reverse()) {
    const commands: RanCommand[] = [];
    const step: HelperStep =
      item.op === 'unmount'
        ? { op: 'unmount', dir: item.dir, image: item.image }
        : { op: 'detach', device: item.device, image: item.image };
    try {
      const outcome = await runStep(step, { ...ctx, commands });
      ctx.env.emit({ step: failedStep, op: step.op, ok: true, rollback: true, commands, ...outcome });
    } catch (error) {
      ctx.env.emit({ step: failedStep, op: step.op, ok: false, rollback: true, commands, error: brief(error) });
    }
  }
}
