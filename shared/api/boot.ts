/**
 * The boot loader and recipe parts of the API contract: what an install or a build can ask for
 * (validated here, so the app, the harness and the CLI refuse the same things) and what they
 * answer. The menu schema is the recipes' own, so a menu means the same everywhere.
 */
import { z } from 'zod';
import type { BlockListEntry } from '../boot/grub-legacy';
import { GRUB2_FIRMWARES, type Grub2Firmware } from '../boot/grub2';
import type { FsType } from '../fs/types';
import { menuSchema } from '../recipe/schema';

const hostPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte');

export const bootloaderInstallSchema = z
  .object({
    path: hostPath,
    /** The partition holding /boot (GRUB), or whose first sector takes the boot sector. */
    partition: z.number().int().min(1).max(128).optional(),
    loader: z.enum(['grub2', 'grub-legacy', 'boot-sector']),
    /** GRUB: grub.cfg / menu.lst from this menu. */
    menu: menuSchema.optional(),
    /** GRUB: a host file copied to the default entry's kernel path. */
    kernelFile: hostPath.optional(),
    /** GRUB 2: modules built into core.img. */
    coreModules: z
      .array(z.string().regex(/^[\w.-]+$/))
      .max(64)
      .optional(),
    /** GRUB 2: boot with BIOS (core.img after the MBR), UEFI (BOOTX64.EFI on a FAT volume), or both. */
    firmware: z.enum(GRUB2_FIRMWARES).optional(),
    /** GRUB legacy: the folder with stage1 and stage2. */
    stageDir: hostPath.optional(),
    /** Boot sector: the host file. */
    bootSector: hostPath.optional(),
    overwriteBpb: z.boolean().optional(),
    overwriteTable: z.boolean().optional(),
    force: z.boolean().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const only = (fields: Array<keyof typeof v>, loader: string) => {
      for (const field of fields)
        if (v[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `is for ${loader} only` });
    };
    if (v.loader === 'boot-sector') {
      if (v.bootSector === undefined) ctx.addIssue({ code: 'custom', path: ['bootSector'], message: 'name the boot sector file' });
      only(['menu', 'kernelFile', 'coreModules', 'stageDir'], 'GRUB');
    } else {
      only(['bootSector', 'overwriteBpb', 'overwriteTable', 'force'], 'boot-sector');
      if (v.loader === 'grub2') only(['stageDir'], 'grub-legacy');
      else only(['coreModules', 'firmware'], 'grub2');
      if (v.kernelFile !== undefined && v.menu === undefined)
        ctx.addIssue({ code: 'custom', path: ['kernelFile'], message: 'needs a menu whose default entry says where the kernel goes' });
    }
  });

/** Host folders a recipe may read files from besides its own: the user's explicit permission. */
const allowOutside = z.array(hostPath).max(64).optional();
export const recipeValidateSchema = z.object({ path: hostPath, allowOutside }).strict();
/** Write a recipe file (the wizard saves one beside the image it made); `recipe` is checked by the recipe schema. */
export const recipeSaveSchema = z.object({ path: hostPath, recipe: z.unknown(), force: z.boolean().optional() }).strict();
export const recipeBuildSchema = z
  .object({ path: hostPath, output: hostPath.optional(), force: z.boolean().optional(), allowOutside })
  .strict();

export interface SectorsWritten {
  what: string;
  /** LBA from the start of the image. */
  sector: number;
  count: number;
}

export interface BootloaderResult {
  loader: 'grub2' | 'grub-legacy' | 'boot-sector';
  image: string;
  /** "partition 1 of disk.img", or the image for a whole-disk volume. */
  volume: string;
  /** How the boot loader names the boot volume: (fd0), (hd0,0), (hd0,msdos1) … null for a boot sector. */
  device: string | null;
  /** Files written into the filesystem (GRUB 2's modules are counted, not listed). */
  files: string[];
  modules: number;
  sectors: SectorsWritten[];
  /** GRUB legacy: the block list written into stage2. */
  blockList?: BlockListEntry[];
  /** GRUB 2: the firmware it boots with. */
  firmware?: Grub2Firmware;
  /** GRUB 2 for BIOS: core.img and where it went. */
  core?: { bytes: number; prefix: string; modules: string[]; area: string };
  /** GRUB 2 for UEFI: the loader file and what is built into it. */
  efi?: { path: string; bytes: number; prefix: string; modules: string[] };
  warnings: string[];
}

export interface RecipeSummary {
  recipe: string;
  sizeBytes: number;
  floppy: string | null;
  table: 'mbr' | 'gpt' | null;
  volumes: Array<{
    partition: number | null;
    fs: FsType;
    label: string | null;
    startSector: number;
    sizeBytes: number;
    capacityBytes: number;
    neededBytes: number;
  }>;
  files: number;
  fileBytes: number;
  /** 'boot-image': an ISO's El Torito image of the user's own. */
  bootloader: 'grub2' | 'grub-legacy' | 'boot-sector' | 'boot-image' | null;
  /** Set for an ISO recipe (`"image": {"iso": …}`): the volume, its date and its boot entries. */
  iso?: IsoSummary;
}

/** What an ISO recipe builds. */
export interface IsoSummary {
  volumeId: string;
  /** The volume's date (ISO 8601). */
  date: string;
  /** The date came from the recipe (or SOURCE_DATE_EPOCH): the same recipe gives the same bytes. */
  dateFixed: boolean;
  level: 1 | 2;
  /** GRUB's hybrid MBR: boots as a disk (USB stick, `qemu -hda`) too. */
  hybrid: boolean;
  /** The El Torito entries: BIOS (a file of the tree) and UEFI (the appended EFI partition, path null). */
  boot: Array<{ platform: 'bios' | 'efi'; path: string | null; sectors: number }>;
  /** Names the writer changed (ISO 9660 8.3 names of GRUB's modules, Joliet names cut at 64 characters). */
  renamed: number;
  /** How GRUB and blkid name the volume (its date): GRUB finds the image by it. */
  uuid: string;
}

/** A valid recipe: what it builds, and the equivalent shell script. */
export interface RecipeValidation extends RecipeSummary {
  script: string;
}

export interface BuildResult extends RecipeSummary {
  image: string;
  bootloaderResult: BootloaderResult | null;
  /** Each step and how long it took. */
  steps: Array<{ step: string; ms: number }>;
  totalMs: number;
  /** Host entries not copied (symbolic links FAT may not follow out of the recipe's folders). */
  skipped?: Array<{ path: string; reason: string }>;
}
