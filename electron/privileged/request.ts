/**
 * What the privileged helper accepts: one request, a batch of steps from a fixed allowlist
 * (attach, detach, mount, unmount, mkfs, grub-install, sync), each with validated arguments.
 *
 * On the command line the request travels as base64url of its JSON: only A–Z a–z 0–9 - _, so no
 * shell on the way (sudo-prompt's outer /bin/sh, pkexec's /bin/bash) can expand any part of it,
 * whatever the image's name holds.
 */
import { z } from 'zod';
import { FS_TYPES } from '../../shared/fs/types';

/** An absolute path: the helper never resolves a relative one against root's working folder. */
const absolutePath = z
  .string()
  .min(2)
  .max(4096)
  .refine((p) => p.startsWith('/'), 'must be an absolute path')
  .refine((p) => !p.includes('\0'), 'cannot contain a NUL byte');

/** A device path, or "the device that step N attached" (and optionally its partition node). */
export const deviceRefSchema = z.union([
  absolutePath,
  z.object({ step: z.number().int().min(0).max(31), partition: z.number().int().min(1).max(128).optional() }).strict(),
]);
export type DeviceRef = z.infer<typeof deviceRefSchema>;

const bytes = z
  .number()
  .int()
  .min(0)
  .max(2 ** 53 - 1);

/** The byte range of the image the device must show: checked before every write. */
const expectedRange = z.object({ offsetBytes: bytes, sizeBytes: bytes.nullable() }).strict();

/** Labels reach mkfs as one argument (no shell), but keep them printable and short anyway. */
const label = z
  .string()
  .regex(/^[A-Za-z0-9 _.-]{1,16}$/, 'a label is 1–16 letters, digits, spaces, _ . -')
  .refine((l) => !l.startsWith('-'), 'a label cannot start with -');

export const stepSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('attach'),
      image: absolutePath,
      offsetBytes: bytes.optional(),
      sizeBytes: bytes.optional(),
      partscan: z.boolean().optional(),
      readOnly: z.boolean().optional(),
    })
    .strict(),
  z.object({ op: z.literal('detach'), device: deviceRefSchema, image: absolutePath }).strict(),
  z
    .object({
      op: z.literal('mount'),
      device: deviceRefSchema,
      image: absolutePath,
      dir: absolutePath,
      family: z.enum(['ext2', 'fat']),
      expect: expectedRange.optional(),
      readOnly: z.boolean().optional(),
      /** ext2: give the filesystem's root folder to the owner so they can write (default true). */
      chownRoot: z.boolean().optional(),
    })
    .strict(),
  z.object({ op: z.literal('unmount'), dir: absolutePath, image: absolutePath }).strict(),
  z
    .object({
      op: z.literal('mkfs'),
      device: deviceRefSchema,
      image: absolutePath,
      fs: z.enum(FS_TYPES),
      expect: expectedRange.optional(),
      label: label.optional(),
      blocks1KiB: z
        .number()
        .int()
        .min(1)
        .max(2 ** 42)
        .optional(),
      /** ext2 only: mke2fs -b (default 1024). */
      blockBytes: z.union([z.literal(1024), z.literal(2048), z.literal(4096)]).optional(),
      /** FAT only: bytes per cluster, 512 to 64 KiB, a power of 2 (mkfs.fat -s, newfs_msdos -c in sectors). */
      clusterBytes: z
        .number()
        .int()
        .min(512)
        .max(64 * 1024)
        .refine((n) => (n & (n - 1)) === 0, 'a cluster is a power of 2 bytes')
        .optional(),
      hiddenSectors: z
        .number()
        .int()
        .min(0)
        .max(2 ** 32 - 1)
        .optional(),
      heads: z.number().int().min(1).max(255).optional(),
      sectorsPerTrack: z.number().int().min(1).max(63).optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal('grub-install'),
      /** The whole image's device: GRUB goes to its MBR and the gap after it. */
      device: deviceRefSchema,
      image: absolutePath,
      /** Where a partition of the same image is mounted; GRUB's files go to its /boot. */
      mountDir: absolutePath,
      target: z.literal('i386-pc'),
      /**
       * The device mounted at mountDir, when it is a loop device of its own (attached by offset)
       * rather than a partition node of `device`: grub-install then gets a device.map naming both
       * (GRUB 2.06 cannot find the start of a loop partition node), and `modules` for the table.
       */
      bootDevice: deviceRefSchema.optional(),
      modules: z
        .array(z.enum(['part_msdos', 'part_gpt']))
        .max(2)
        .optional(),
    })
    .strict(),
  z.object({ op: z.literal('sync') }).strict(),
]);
export type HelperStep = z.infer<typeof stepSchema>;
export type HelperOp = HelperStep['op'];

export const REQUEST_VERSION = 1;

export const requestSchema = z
  .object({
    version: z.literal(REQUEST_VERSION),
    /** The user the mounted files should belong to (checked against pkexec's PKEXEC_UID / sudo's SUDO_UID). */
    owner: z
      .object({
        uid: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1),
        gid: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1),
      })
      .strict(),
    steps: z.array(stepSchema).min(1).max(32),
    /** Undo what this batch did (unmount, detach) when a step fails. Default: true. */
    rollbackOnError: z.boolean().optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    request.steps.forEach((step, index) => {
      if (step.op === 'mkfs' && step.fs === 'ext2' && step.clusterBytes !== undefined)
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'clusterBytes'], message: 'is for FAT' });
      if (step.op === 'mkfs' && step.fs !== 'ext2' && step.blockBytes !== undefined)
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'blockBytes'], message: 'is for ext2' });
    });
    request.steps.forEach((step, index) => {
      if (!('device' in step) || typeof step.device === 'string') return;
      const target = request.steps[step.device.step];
      if (step.device.step >= index || target?.op !== 'attach') {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'device'],
          message: `step ${step.device.step} is not an earlier attach step`,
        });
      }
    });
  });
export type HelperRequest = z.infer<typeof requestSchema>;

/** A command the helper ran, for "the commands it ran". `builtin` marks work done in-process (chown). */
export interface RanCommand {
  argv: string[];
  exitCode: number | null;
  builtin?: boolean;
}

/** One line of the helper's output: a step's result (or a rollback's). */
export interface StepReport {
  step: number;
  op: HelperOp;
  ok: boolean;
  rollback?: boolean;
  commands: RanCommand[];
  /** attach: the device made; mount: the device mounted. */
  device?: string;
  dir?: string;
  error?: { code: string; message: string };
}

/** The helper's last line. */
export interface FinalReport {
  done: true;
  ok: boolean;
  error?: { code: string; message: string };
}

export function encodeRequest(request: HelperRequest): string {
  return Buffer.from(JSON.stringify(request), 'utf8').toString('base64url');
}

/** Decodes and validates; throws a ZodError or SyntaxError on anything that is not a valid request. */
export function decodeRequest(encoded: string): HelperRequest {
  if (!/^[A-Za-z0-9_-]{1,262144}$/.test(encoded)) throw new SyntaxError('the request must be base64url text');
  return requestSchema.parse(JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')));
}

/** A path as a person reads it on the password prompt: control characters shown as `?`. */
function shown(path: string): string {
  // eslint-disable-next-line no-control-regex
  return path.replace(/[\u0000-\u001f\u007f]/g, '?');
}

function deviceWords(ref: DeviceRef): string {
  if (typeof ref === 'string') return shown(ref);
  return ref.partition === undefined
    ? `the loop device of step ${ref.step + 1}`
    : `partition ${ref.partition} of the loop device of step ${ref.step + 1}`;
}

function rangeWords(offsetBytes: number | undefined, sizeBytes: number | null | undefined): string {
  if (!offsetBytes && !sizeBytes) return '';
  return ` (bytes ${offsetBytes ?? 0}${sizeBytes ? `–${(offsetBytes ?? 0) + sizeBytes - 1}` : ' to the end'})`;
}

/**
 * What the request does, in words, for the password prompt's command line (docs/SECURITY.md,
 * rule 5): the user sees the action and the image, not only a base64 blob. The helper recomputes
 * it from the request and refuses when the two differ, so what was shown is what runs.
 */
export function describeRequest(request: HelperRequest): string {
  const words = request.steps.map((step, index) => {
    const n = `${index + 1}.`;
    switch (step.op) {
      case 'attach':
        return `${n} attach ${shown(step.image)}${rangeWords(step.offsetBytes, step.sizeBytes)} to a loop device${step.readOnly ? ' read-only' : ' read-write'}`;
      case 'detach':
        return `${n} detach ${deviceWords(step.device)} (${shown(step.image)})`;
      case 'mount':
        return `${n} mount ${deviceWords(step.device)} (${step.family}${step.readOnly ? ', read-only' : ''}) at ${shown(step.dir)}`;
      case 'unmount':
        return `${n} unmount ${shown(step.dir)} (${shown(step.image)})`;
      case 'mkfs':
        return `${n} format ${deviceWords(step.device)} of ${shown(step.image)} as ${step.fs} (erases it)`;
      case 'grub-install':
        return `${n} install GRUB 2 (${step.target}) on ${deviceWords(step.device)} of ${shown(step.image)}, files under ${shown(step.mountDir)}/boot`;
      case 'sync':
        return `${n} sync`;
    }
  });
  return `Loopback Studio, as root: ${words.join('; ')}`;
}
