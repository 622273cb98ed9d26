/**
 * The file and format parts of the API contract: browse a volume (an image, or one partition of
 * it), make folders, delete, rename, copy in (host paths, or — from a browser, which has no host
 * paths — the dropped files' bytes) and copy out, and format. Validated here so the app, the
 * harness and the CLI refuse the same things.
 */
import { z } from 'zod';
import { FS_TYPES, type FsType, type FsUsage } from '../fs/types';
import { UPLOAD_MAX_BYTES } from './files-plain';

export { copyJobTitle, UPLOAD_MAX_BYTES } from './files-plain';

const hostPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte');
/** A path inside the filesystem: "/", "/boot/grub" (made absolute and normalized by the service). */
const volumePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte');

/** Which volume: the image, and the partition for a partitioned one (leave it out for a floppy). */
const volume = {
  path: hostPath,
  partition: z.number().int().min(1).max(128).optional(),
};

const UPLOAD_MAX_BASE64 = Math.ceil(UPLOAD_MAX_BYTES / 3) * 4;

/** A relative path as a dropped folder gives it: "notes.txt", "src/main.c"; no "..", no leading "/". */
const relativeName = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.includes('\0') && !p.startsWith('/') && !p.includes('\\'), 'a relative path with "/" between folders')
  .refine((p) => p.split('/').every((part) => part !== '' && part !== '.' && part !== '..'), 'no empty, "." or ".." parts');

export const fsListSchema = z.object({ ...volume, dir: volumePath }).strict();
export const fsMkdirSchema = z.object({ ...volume, dir: volumePath, parents: z.boolean().optional() }).strict();
export const fsRemoveSchema = z.object({ ...volume, target: volumePath, recursive: z.boolean().optional() }).strict();
export const fsRenameSchema = z.object({ ...volume, from: volumePath, to: volumePath }).strict();
export const fsPutSchema = z.object({ ...volume, sources: z.array(hostPath).min(1).max(10_000), dest: volumePath }).strict();
/** `overwrite`: replace host files that are where the copy goes (the app asks first); without it nothing is replaced. */
export const fsGetSchema = z.object({ ...volume, source: volumePath, out: hostPath, overwrite: z.boolean().optional() }).strict();
export const fsUploadSchema = z
  .object({
    ...volume,
    dest: volumePath,
    files: z
      .array(
        z
          .object({
            name: relativeName,
            base64: z
              .string()
              .max(UPLOAD_MAX_BASE64)
              .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'),
            /** The file's modification time, as the browser's File.lastModified gives it. */
            modifiedMs: z.number().int().nonnegative().optional(),
          })
          .strict(),
      )
      .min(1)
      .max(10_000),
  })
  .strict()
  .refine((v) => v.files.reduce((sum, f) => sum + Math.floor((f.base64.length * 3) / 4), 0) <= UPLOAD_MAX_BYTES + 2 * v.files.length, {
    message: `send at most ${UPLOAD_MAX_BYTES / (1024 * 1024)} MiB per call`,
  });

export const imageFormatSchema = z
  .object({
    ...volume,
    fs: z.enum(FS_TYPES),
    label: z.string().max(32).optional(),
    clusterBytes: z
      .number()
      .int()
      .min(512)
      .max(64 * 1024)
      .optional(),
    blockBytes: z.union([z.literal(1024), z.literal(4096)]).optional(),
    /**
     * The partition's type afterwards: 'match' (default) sets the type that says what the
     * filesystem is when the type does not already (FAT32 on 0b or 0c is left alone); 'keep'
     * leaves it as the table has it and warns when it does not match (the CLI's default).
     */
    partitionType: z.enum(['keep', 'match']).optional(),
  })
  .strict();

/**
 * Set on a file operation's result when it went through the volume's mount (the partition, or
 * the whole floppy image, is mounted read-write by `loopstudio mount`, the app, or anyone) with
 * the host's own filesystem calls, instead of the rootless engine writing the image file.
 */
export interface MountVia {
  /** Where the volume is mounted. */
  mountDir: string;
  /** The node that is mounted there: /dev/loop3, /dev/loop0p1. */
  device: string;
  /** A read-only mount: it can be read through, not written. */
  readOnly: boolean;
}

/** What a copy into a volume answers (fs.put, fs.upload). */
export interface PutResult {
  volume: string;
  files: number;
  folders: number;
  bytes: number;
  via?: MountVia;
}

/** What a format answers. */
export interface FormatResult {
  volume: string;
  fs: FsType;
  usage: FsUsage;
  /** The partition type set to match the filesystem, when it changed. */
  partitionType: { from: string; to: string } | null;
  /** A kept partition type that does not say what the filesystem is, and how to change it. */
  warnings: string[];
}

/** An entry of the image that a copy out left behind, and why (a name the host cannot hold …). */
export interface SkippedEntry {
  /** Its path in the image, as read from it: print it quoted (shared/fs/host-names.ts printableName). */
  path: string;
  reason: string;
}

/** What a copy out of a volume answers (fs.get). */
export interface GetResult {
  volume: string;
  files: number;
  folders: number;
  symlinks: number;
  bytes: number;
  /** Entries not copied, each with why; the rest was copied. */
  skipped: SkippedEntry[];
}
