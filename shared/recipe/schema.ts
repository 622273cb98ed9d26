/**
 * A recipe: one JSON document that describes a disk image completely — its size, its partition
 * table and partitions, their filesystems, the files copied in, the boot loader and its menu —
 * so `loopstudio build recipe.json` can make it again, headless and without root.
 *
 * Validation is strict: an unknown field is an error (a typo must not silently drop a setting),
 * and every error names the field it is about, as a path: `partitions[0].filesystem.label: …`.
 * This module checks the document alone; what needs the host (do the files exist, does GRUB fit)
 * is checked by the build service before anything is written.
 *
 *   {
 *     "image": { "floppy": "1.44M" } | { "size": "64M" } | { "chs": "65/16/63" },
 *     "table": "mbr" | "gpt",                       (with partitions; default mbr)
 *     "partitions": [{ "start": 2048, "size": "rest", "type": "0c", "bootable": true,
 *                      "filesystem": { "type": "fat32", "label": "BOOT", "clusterSize": 512 } }],
 *     "filesystem": { "type": "fat12", "label": "MYOS" },   (whole disk: a floppy; not with partitions)
 *     "files": [{ "from": "kernel.elf", "to": "/boot/kernel.elf", "partition": 1 }],
 *     "bootloader": { "grub2": { "firmware": "bios" | "uefi" | "both" } | "grubLegacy": { "stageDir": "…" } | "bootSector": { "file": "boot.bin" },
 *                     "menu": { "timeout": 0, "default": 0, "serial": true,
 *                               "entries": [{ "title": "My OS", "kernel": "/boot/kernel.elf", "type": "multiboot",
 *                                             "cmdline": "", "modules": ["/boot/initrd.tar"] }] } }
 *   }
 */
import { z } from 'zod';
import { GRUB2_FIRMWARES } from '../boot/grub2';
import { KERNEL_TYPES, type BootMenu } from '../boot/menu';
import { LoopbackError } from '../errors';
import { FS_TYPES } from '../fs/types';

/** MBR recipes use the four primary slots; logical partitions are for `loopstudio partition`. */
export const MAX_MBR_PARTITIONS = 4;
export const MAX_GPT_PARTITIONS = 128;

const text = (max: number) => z.string().min(1, 'must not be empty').max(max);
const hostPath = text(4096).refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte');
const imagePath = text(4096).refine((p) => p.startsWith('/'), 'must be an absolute path inside the image, like /boot/kernel.elf');
const sectorsOrSize = z.union([z.number().int().min(1), text(40)], { error: 'a number of 512-byte sectors, or a size with a unit ("1MiB", "60M")' });

export const filesystemSchema = z
  .object({
    type: z.enum(FS_TYPES, { error: `one of ${FS_TYPES.join(', ')}` }),
    label: z.string().max(16, 'at most 16 characters (FAT: 11)').optional(),
    /** FAT: bytes per cluster (512 … 32768). */
    clusterSize: z.number().int().positive().optional(),
    /** ext2: bytes per block. */
    blockSize: z.union([z.literal(1024), z.literal(4096)], { error: '1024 or 4096' }).optional(),
  })
  .strict()
  .superRefine((fs, ctx) => {
    if (fs.type === 'ext2' && fs.clusterSize !== undefined) ctx.addIssue({ code: 'custom', path: ['clusterSize'], message: 'is for FAT; ext2 takes blockSize' });
    if (fs.type !== 'ext2' && fs.blockSize !== undefined) ctx.addIssue({ code: 'custom', path: ['blockSize'], message: 'is for ext2; FAT takes clusterSize' });
  });

export const partitionSchema = z
  .object({
    /** First sector (a number) or a byte offset with a unit ("1MiB"); default: the first free aligned sector. */
    start: sectorsOrSize.optional(),
    /** Sectors, a size with a unit, or "rest" (the default). */
    size: sectorsOrSize.optional(),
    /** MBR: hex id or name (83, 0c, fat32, linux); GPT: alias, sgdisk code or GUID (linux, ef02, bios). Default: from the filesystem. */
    type: text(40).optional(),
    bootable: z.boolean().optional(),
    /** GPT partition name. */
    name: z.string().max(36).optional(),
    filesystem: filesystemSchema.optional(),
  })
  .strict();

export const imageSchema = z
  .object({
    floppy: text(10).optional(),
    size: z.union([text(40), z.number().int().positive()], { error: 'a size like "64M" or a number of bytes' }).optional(),
    chs: text(40).optional(),
  })
  .strict()
  .superRefine((image, ctx) => {
    const given = (['floppy', 'size', 'chs'] as const).filter((k) => image[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: `give exactly one of floppy, size, chs${given.length ? ` (got ${given.join(' and ')})` : ''}` });
  });

export const fileSchema = z
  .object({
    /** A host file or folder, relative to the recipe's folder (or absolute). Folders are copied whole. */
    from: hostPath,
    /** Where it goes in the image: a path, or a folder ending in "/" to copy into. */
    to: imagePath,
    /** The partition number; default: the only partition with a filesystem, or the boot loader's. */
    partition: z.number().int().min(1).max(MAX_GPT_PARTITIONS).optional(),
  })
  .strict();

export const moduleSchema = z.union([imagePath, z.object({ path: imagePath, cmdline: z.string().max(4096).optional() }).strict()], {
  error: 'a path inside the image, or { "path": …, "cmdline": … }',
});

export const menuEntrySchema = z
  .object({
    title: text(200),
    kernel: imagePath,
    type: z.enum(KERNEL_TYPES, { error: `one of ${KERNEL_TYPES.join(', ')}` }).default('multiboot'),
    cmdline: z.string().max(4096).optional(),
    modules: z.array(moduleSchema).max(64).optional(),
  })
  .strict();

export const menuSchema = z
  .object({
    timeout: z.number().int().min(0).max(86400).default(5),
    default: z.number().int().min(0).default(0),
    serial: z.boolean().default(false),
    entries: z.array(menuEntrySchema).min(1, 'a menu needs at least one entry').max(64),
  })
  .strict()
  .superRefine((menu, ctx) => {
    if (menu.default >= menu.entries.length) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `is ${menu.default} but there ${menu.entries.length === 1 ? 'is 1 entry' : `are ${menu.entries.length} entries`} (counting from 0)` });
    }
  });

const bootPartition = z.number().int().min(1).max(MAX_GPT_PARTITIONS).optional();

export const bootloaderSchema = z
  .object({
    grub2: z
      .object({
        /** The partition holding /boot/grub (default: the only one with a filesystem, or the bootable one). */
        partition: bootPartition,
        /** Extra modules built into core.img (grub-install --modules). */
        coreModules: z.array(text(64).regex(/^[\w.-]+$/, 'a module name like "multiboot"')).max(64).optional(),
        /** "bios" (default): core.img after the MBR; "uefi": /EFI/BOOT/BOOTX64.EFI on a FAT partition; "both". */
        firmware: z.enum(GRUB2_FIRMWARES, { error: 'bios, uefi or both' }).optional(),
      })
      .strict()
      .optional(),
    grubLegacy: z
      .object({
        partition: bootPartition,
        /** The folder with stage1 and stage2 (default: the host's GRUB legacy folder). */
        stageDir: hostPath.optional(),
      })
      .strict()
      .optional(),
    bootSector: z
      .object({
        /** The boot sector (512 bytes) or a longer first stage, relative to the recipe's folder. */
        file: hostPath,
        /** Install into this partition's first sector instead of the disk's. */
        partition: bootPartition,
        overwriteBpb: z.boolean().optional(),
        overwriteTable: z.boolean().optional(),
        force: z.boolean().optional(),
      })
      .strict()
      .optional(),
    menu: menuSchema.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const given = (['grub2', 'grubLegacy', 'bootSector'] as const).filter((k) => b[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: `give exactly one of grub2, grubLegacy, bootSector${given.length ? ` (got ${given.join(' and ')})` : ''}` });
    if (b.bootSector && b.menu) ctx.addIssue({ code: 'custom', path: ['menu'], message: 'a boot sector has no menu: the menu is for grub2 and grubLegacy' });
  });

export const recipeSchema = z
  .object({
    /** Free text for people; ignored by the build. */
    description: z.string().max(10_000).optional(),
    image: imageSchema,
    table: z.enum(['mbr', 'gpt'], { error: 'mbr or gpt' }).optional(),
    partitions: z.array(partitionSchema).min(1, 'give at least one partition, or leave partitions out for a whole-disk filesystem').max(MAX_GPT_PARTITIONS).optional(),
    filesystem: filesystemSchema.optional(),
    files: z.array(fileSchema).max(10_000).optional(),
    bootloader: bootloaderSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.partitions && r.filesystem) {
      ctx.addIssue({ code: 'custom', path: ['filesystem'], message: 'a whole-disk filesystem and partitions exclude each other: put the filesystem in a partition' });
    }
    if (r.image.floppy !== undefined && (r.partitions || r.table)) {
      ctx.addIssue({ code: 'custom', path: [r.partitions ? 'partitions' : 'table'], message: 'a floppy has no partition table: give it a whole-disk "filesystem" instead' });
    }
    if (r.table && !r.partitions) ctx.addIssue({ code: 'custom', path: ['table'], message: 'a table needs partitions' });
    if (r.partitions && (r.table ?? 'mbr') === 'mbr' && r.partitions.length > MAX_MBR_PARTITIONS) {
      ctx.addIssue({ code: 'custom', path: ['partitions'], message: `an MBR recipe has at most ${MAX_MBR_PARTITIONS} (primary) partitions` });
    }
    const count = r.partitions?.length ?? 0;
    r.partitions?.forEach((p, i) => {
      if (p.name !== undefined && (r.table ?? 'mbr') !== 'gpt') ctx.addIssue({ code: 'custom', path: ['partitions', i, 'name'], message: 'only GPT partitions have names' });
    });
    const checkPartition = (value: number | undefined, path: (string | number)[], needsFilesystem: boolean) => {
      if (value === undefined) return;
      if (count === 0) ctx.addIssue({ code: 'custom', path, message: 'there are no partitions: leave it out for a whole-disk filesystem' });
      else if (value > count) ctx.addIssue({ code: 'custom', path, message: `is ${value}, but the recipe has ${count} partition${count === 1 ? '' : 's'}` });
      else if (needsFilesystem && !r.partitions?.[value - 1]?.filesystem) ctx.addIssue({ code: 'custom', path, message: `partition ${value} has no filesystem` });
    };
    r.files?.forEach((f, i) => checkPartition(f.partition, ['files', i, 'partition'], true));
    if (r.bootloader) {
      checkPartition(r.bootloader.grub2?.partition, ['bootloader', 'grub2', 'partition'], true);
      checkPartition(r.bootloader.grubLegacy?.partition, ['bootloader', 'grubLegacy', 'partition'], true);
      checkPartition(r.bootloader.bootSector?.partition, ['bootloader', 'bootSector', 'partition'], false);
    }
    if (r.files?.length && !r.filesystem && !r.partitions?.some((p) => p.filesystem)) {
      ctx.addIssue({ code: 'custom', path: ['files'], message: 'files need a filesystem to go into: add "filesystem" (or one in a partition)' });
    }
  });

export type Recipe = z.output<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;
export type RecipePartition = z.output<typeof partitionSchema>;
export type RecipeFilesystem = z.output<typeof filesystemSchema>;
export type RecipeMenu = z.output<typeof menuSchema>;

/** The menu as shared/boot/menu.ts takes it: module paths given as plain strings become { path }. */
export function toBootMenu(menu: RecipeMenu): BootMenu {
  return {
    timeout: menu.timeout,
    default: menu.default,
    serial: menu.serial,
    entries: menu.entries.map(({ modules, ...entry }) => ({
      ...entry,
      ...(modules ? { modules: modules.map((m) => (typeof m === 'string' ? { path: m } : m)) } : {}),
    })),
  };
}

/** `partitions[0].filesystem.label` from zod's ['partitions', 0, 'filesystem', 'label']. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/** One line per problem, each starting with the field it is about. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${fieldPath([...issue.path, key])}: unknown field (check its spelling; recipes refuse fields they do not know)`).join('\n');
    }
    const where = fieldPath(issue.path) || '(recipe)';
    return `${where}: ${issue.message}`;
  });
}

/** An error about one field: its message starts with the field's path. */
export function fieldError(code: 'INVALID_INPUT' | 'VALIDATION' | 'NOT_FOUND' | 'HOST_TOOL_MISSING' | 'FORBIDDEN', field: string, message: string, details: Record<string, unknown> = {}): LoopbackError {
  return new LoopbackError(code, `${field}: ${message}`, { ...details, field });
}

/** Parses a recipe document; INVALID_INPUT lists every problem, each with its field path. */
export function parseRecipe(document: unknown): Recipe {
  const parsed = recipeSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  const problems = describeIssues(parsed.error.issues);
  const first = parsed.error.issues[0];
  throw new LoopbackError('INVALID_INPUT', `The recipe is not valid:\n${problems.join('\n')}`, {
    field: first ? fieldPath(first.code === 'unrecognized_keys' ? [...first.path, first.keys[0] ?? ''] : first.path) : null,
    problems,
  });
}
