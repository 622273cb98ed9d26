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
 *     "image": { "floppy": "1.44M" } | { "size": "64M" } | { "chs": "65/16/63" }
 *            | { "iso": { "volumeId": "MYOS", "date": "2024-01-01T00:00:00Z", "hybrid": true } },
 *                                                  (an ISO 9660 CD image: files and a boot loader, no partitions)
 *     "table": "mbr" | "gpt",                       (with partitions; default mbr)
 *     "partitions": [{ "start": 2048, "size": "rest", "type": "0c", "bootable": true,
 *                      "filesystem": { "type": "fat32", "label": "BOOT", "clusterSize": 512 } }],
 *     "filesystem": { "type": "fat12", "label": "MYOS" },   (whole disk: a floppy; not with partitions)
 *     "files": [{ "from": "kernel.elf", "to": "/boot/kernel.elf", "partition": 1 }],
 *     "bootloader": { "grub2": { "firmware": "bios" | "uefi" | "both" } | "grubLegacy": { "stageDir": "…" } | "bootSector": { "file": "boot.bin" }
 *                     | "bootImage": { "file": "boot.bin", "loadSectors": 4, "bootInfoTable": true },   (ISO: El Torito no emulation)
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
const sectorsOrSize = z.union([z.number().int().min(1), text(40)], {
  error: 'a number of 512-byte sectors, or a size with a unit ("1MiB", "60M")',
});

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
    if (fs.type === 'ext2' && fs.clusterSize !== undefined)
      ctx.addIssue({ code: 'custom', path: ['clusterSize'], message: 'is for FAT; ext2 takes blockSize' });
    if (fs.type !== 'ext2' && fs.blockSize !== undefined)
      ctx.addIssue({ code: 'custom', path: ['blockSize'], message: 'is for ext2; FAT takes clusterSize' });
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

/**
 * A date a recipe pins so the same recipe gives the same bytes: ISO 8601 with its time zone
 * ("2024-01-01T00:00:00Z", "2024-01-01T12:00:00+02:00") or a day ("2024-01-01", midnight UTC).
 * A time without a zone would depend on the machine's, so it is refused.
 */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;
/** What ISO 9660's 7-byte dates can hold (ECMA-119 9.1.5: years since 1900 in one byte). */
export const ISO_FIRST_DATE_MS = Date.UTC(1900, 0, 1);
export const ISO_LAST_DATE_MS = Date.UTC(2155, 11, 31, 23, 59, 59);

/** "2024-01-01T00:00:00Z" → ms since the epoch (the schema has checked it). */
export function parseRecipeDate(text: string): number {
  return Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
}

export const isoImageSchema = z
  .object({
    /** The volume label (ISO 9660 volume identifier): what Linux, Windows and GRUB's `search --label` see. Default "ISOIMAGE". */
    volumeId: z
      .string()
      .min(1, 'must not be empty')
      .max(32, 'at most 32 characters')
      .regex(/^[\x20-\x7e]+$/, 'printable ASCII only (letters, digits, space, punctuation)')
      .optional(),
    /**
     * The date of the volume and of every file and folder in it: with it, the same recipe and the
     * same files give the same bytes. Default: $SOURCE_DATE_EPOCH when set, else the build's time
     * (and the files keep their own modification times).
     */
    date: z
      .string()
      .regex(ISO_DATE, 'an ISO 8601 date with its time zone, like "2024-01-01T00:00:00Z" (or a day, "2024-01-01")')
      .superRefine((d, ctx) => {
        const [year, month, day] = d.slice(0, 10).split('-').map(Number) as [number, number, number];
        const ms = parseRecipeDate(d);
        const calendar = new Date(Date.UTC(year, month - 1, day));
        if (Number.isNaN(ms) || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day)
          ctx.addIssue({ code: 'custom', message: 'is not a real date' });
        else if (ms < ISO_FIRST_DATE_MS || ms > ISO_LAST_DATE_MS)
          ctx.addIssue({ code: 'custom', message: 'ISO 9660 records dates from 1900 to 2155' });
      })
      .optional(),
    /**
     * GRUB's hybrid MBR (grub-mkrescue's): the same file also boots written to a USB stick or
     * given to QEMU as a hard disk. Default: on with GRUB 2 for BIOS, as grub-mkrescue does.
     */
    hybrid: z.boolean().optional(),
    /** The plain ISO 9660 names: level 1 (8.3, the default, as grub-mkrescue) or 2 (30 characters). Rock Ridge and Joliet keep the real names. */
    level: z.union([z.literal(1), z.literal(2)], { error: '1 (8.3 names) or 2 (30 characters)' }).optional(),
    /**
     * Two names of one folder that map to the same plain ISO 9660 name ("libc_sources_1.c" and
     * "libc_sources_2.c" → "LIBC_SOU.C;1"): "refuse" (the default: readers without Rock Ridge or
     * Joliet, such as your own OS's first ISO driver, would see one name for two files) or
     * "rename" one, as mkisofs and grub-mkrescue do ("LIBC_000.C;1").
     */
    nameCollisions: z.enum(['refuse', 'rename'], { error: 'refuse or rename' }).optional(),
  })
  .strict();

export const imageSchema = z
  .object({
    floppy: text(10).optional(),
    size: z.union([text(40), z.number().int().positive()], { error: 'a size like "64M" or a number of bytes' }).optional(),
    chs: text(40).optional(),
    /** An ISO 9660 image (a CD, and with `hybrid` a USB stick): its size follows from what goes in. */
    iso: isoImageSchema.optional(),
  })
  .strict()
  .superRefine((image, ctx) => {
    const given = (['floppy', 'size', 'chs', 'iso'] as const).filter((k) => image[k] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one of floppy, size, chs, iso${given.length ? ` (got ${given.join(' and ')})` : ''}`,
      });
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
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        message: `is ${menu.default} but there ${menu.entries.length === 1 ? 'is 1 entry' : `are ${menu.entries.length} entries`} (counting from 0)`,
      });
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
        coreModules: z
          .array(text(64).regex(/^[\w.-]+$/, 'a module name like "multiboot"'))
          .max(64)
          .optional(),
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
    /**
     * ISO images: your own El Torito "no emulation" boot image (xorriso -b FILE -no-emul-boot),
     * which the BIOS loads to 0000:7C00 and starts — a CD's boot sector, any length.
     */
    bootImage: z
      .object({
        /** The host file, relative to the recipe's folder; copied to `path`. Leave it out when files[] already copies it there. */
        file: hostPath.optional(),
        /** Where it is in the ISO (default /boot/ and the file's name). */
        path: imagePath.optional(),
        /** 512-byte sectors the BIOS loads (El Torito's sector count): default 4, as xorriso. */
        loadSectors: z.number().int().min(1).max(65535).optional(),
        /** Write the boot info table into bytes 8–63 (xorriso -boot-info-table): where the image and the volume are, for loaders such as ISOLINUX. */
        bootInfoTable: z.boolean().optional(),
      })
      .strict()
      .superRefine((b, ctx) => {
        if (b.file === undefined && b.path === undefined)
          ctx.addIssue({ code: 'custom', message: 'give "file" (a host file) or "path" (a file files[] copies into the image), or both' });
      })
      .optional(),
    menu: menuSchema.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const given = (['grub2', 'grubLegacy', 'bootSector', 'bootImage'] as const).filter((k) => b[k] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one of grub2, grubLegacy, bootSector, bootImage${given.length ? ` (got ${given.join(' and ')})` : ''}`,
      });
    if (b.bootSector && b.menu)
      ctx.addIssue({ code: 'custom', path: ['menu'], message: 'a boot sector has no menu: the menu is for grub2 and grubLegacy' });
    if (b.bootImage && b.menu)
      ctx.addIssue({ code: 'custom', path: ['menu'], message: 'your own boot image has no menu: the menu is for grub2 and grubLegacy' });
  });

const recipeObject = z
  .object({
    /** Free text for people; ignored by the build. */
    description: z.string().max(10_000).optional(),
    image: imageSchema,
    table: z.enum(['mbr', 'gpt'], { error: 'mbr or gpt' }).optional(),
    partitions: z
      .array(partitionSchema)
      .min(1, 'give at least one partition, or leave partitions out for a whole-disk filesystem')
      .max(MAX_GPT_PARTITIONS)
      .optional(),
    filesystem: filesystemSchema.optional(),
    files: z.array(fileSchema).max(10_000).optional(),
    bootloader: bootloaderSchema.optional(),
  })
  .strict();

export const recipeSchema = recipeObject.superRefine((r, ctx) => {
  if (r.image.iso !== undefined) {
    isoRecipeIssues(r, ctx);
    return;
  }
  if (r.bootloader?.bootImage)
    ctx.addIssue({
      code: 'custom',
      path: ['bootloader', 'bootImage'],
      message: 'is for ISO images ("image": {"iso": {…}}); a disk or floppy boots from a boot sector (bootSector) or GRUB',
    });
  if (r.partitions && r.filesystem) {
    ctx.addIssue({
      code: 'custom',
      path: ['filesystem'],
      message: 'a whole-disk filesystem and partitions exclude each other: put the filesystem in a partition',
    });
  }
  if (r.image.floppy !== undefined && (r.partitions || r.table)) {
    ctx.addIssue({
      code: 'custom',
      path: [r.partitions ? 'partitions' : 'table'],
      message: 'a floppy has no partition table: give it a whole-disk "filesystem" instead',
    });
  }
  if (r.table && !r.partitions) ctx.addIssue({ code: 'custom', path: ['table'], message: 'a table needs partitions' });
  if (r.partitions && (r.table ?? 'mbr') === 'mbr' && r.partitions.length > MAX_MBR_PARTITIONS) {
    ctx.addIssue({ code: 'custom', path: ['partitions'], message: `an MBR recipe has at most ${MAX_MBR_PARTITIONS} (primary) partitions` });
  }
  const count = r.partitions?.length ?? 0;
  r.partitions?.forEach((p, i) => {
    if (p.name !== undefined && (r.table ?? 'mbr') !== 'gpt')
      ctx.addIssue({ code: 'custom', path: ['partitions', i, 'name'], message: 'only GPT partitions have names' });
  });
  const checkPartition = (value: number | undefined, path: (string | number)[], needsFilesystem: boolean) => {
    if (value === undefined) return;
    if (count === 0) ctx.addIssue({ code: 'custom', path, message: 'there are no partitions: leave it out for a whole-disk filesystem' });
    else if (value > count)
      ctx.addIssue({ code: 'custom', path, message: `is ${value}, but the recipe has ${count} partition${count === 1 ? '' : 's'}` });
    else if (needsFilesystem && !r.partitions?.[value - 1]?.filesystem)
      ctx.addIssue({ code: 'custom', path, message: `partition ${value} has no filesystem` });
  };
  r.files?.forEach((f, i) => checkPartition(f.partition, ['files', i, 'partition'], true));
  if (r.bootloader) {
    checkPartition(r.bootloader.grub2?.partition, ['bootloader', 'grub2', 'partition'], true);
    checkPartition(r.bootloader.grubLegacy?.partition, ['bootloader', 'grubLegacy', 'partition'], true);
    checkPartition(r.bootloader.bootSector?.partition, ['bootloader', 'bootSector', 'partition'], false);
  }
  if (r.files?.length && !r.filesystem && !r.partitions?.some((p) => p.filesystem)) {
    ctx.addIssue({
      code: 'custom',
      path: ['files'],
      message: 'files need a filesystem to go into: add "filesystem" (or one in a partition)',
    });
  }
});

/** What an ISO recipe may not have: an ISO 9660 image is one filesystem, without partitions, booted through El Torito. */
function isoRecipeIssues(r: z.output<typeof recipeObject>, ctx: z.core.$RefinementCtx): void {
  const iso = r.image.iso!;
  const noPartitions = 'an ISO image is one ISO 9660 filesystem, without partitions: leave it out';
  if (r.partitions) ctx.addIssue({ code: 'custom', path: ['partitions'], message: noPartitions });
  if (r.table) ctx.addIssue({ code: 'custom', path: ['table'], message: noPartitions });
  if (r.filesystem)
    ctx.addIssue({
      code: 'custom',
      path: ['filesystem'],
      message: "an ISO image's filesystem is ISO 9660 (with Rock Ridge and Joliet): leave it out",
    });
  r.files?.forEach((f, i) => {
    if (f.partition !== undefined) ctx.addIssue({ code: 'custom', path: ['files', i, 'partition'], message: noPartitions });
  });
  const b = r.bootloader;
  if (b?.grubLegacy) {
    ctx.addIssue({
      code: 'custom',
      path: ['bootloader', 'grubLegacy'],
      message:
        'GRUB legacy boots a CD only through its stage2_eltorito, which current systems no longer ship: use grub2 (BIOS and UEFI), or your own bootImage',
    });
  }
  if (b?.bootSector) {
    ctx.addIssue({
      code: 'custom',
      path: ['bootloader', 'bootSector'],
      message: 'a CD has no boot sector: give your boot program as an El Torito image instead, "bootImage": {"file": "…"}',
    });
  }
  if (b?.grub2?.partition !== undefined)
    ctx.addIssue({ code: 'custom', path: ['bootloader', 'grub2', 'partition'], message: noPartitions });
  if (iso.hybrid) {
    if (!b)
      ctx.addIssue({
        code: 'custom',
        path: ['image', 'iso', 'hybrid'],
        message: 'a hybrid MBR starts the boot loader from a USB stick: the recipe has no bootloader',
      });
    else if (b.bootImage) {
      ctx.addIssue({
        code: 'custom',
        path: ['image', 'iso', 'hybrid'],
        message:
          "the hybrid MBR is GRUB's boot_hybrid.img, which starts GRUB's El Torito image only: with your own bootImage, leave hybrid out (or false)",
      });
    } else if (b.grub2 && (b.grub2.firmware ?? 'bios') === 'uefi') {
      ctx.addIssue({
        code: 'custom',
        path: ['image', 'iso', 'hybrid'],
        message:
          'the hybrid MBR starts GRUB for BIOS: use "firmware": "both" (a USB stick then boots with UEFI through the EFI partition too), or leave hybrid out',
      });
    }
  }
}

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
      return issue.keys
        .map((key) => `${fieldPath([...issue.path, key])}: unknown field (check its spelling; recipes refuse fields they do not know)`)
        .join('\n');
    }
    const where = fieldPath(issue.path) || '(recipe)';
    return `${where}: ${issue.message}`;
  });
}

/** An error about one field: its message starts with the field's path. */
export function fieldError(
  code: 'INVALID_INPUT' | 'VALIDATION' | 'NOT_FOUND' | 'HOST_TOOL_MISSING' | 'FORBIDDEN',
  field: string,
  message: string,
  details: Record<string, unknown> = {},
): LoopbackError {
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
