/**
 * The new-image wizard's arithmetic, in the window and with the disk core's own code: the image's
 * shape (resolveImageShape), the geometry report (geometryReport), the first partition (a dry run
 * of editPartitions on an in-memory disk of the same size) and the filesystem (the formatter's
 * planner). So the wizard refuses exactly what `image.create`, `image.partition` and
 * `image.format` would refuse, in the same words, before a file exists.
 */
import type { MethodInput } from '../../../../shared/api/contract';
import type { DiskInfo, PartitionInfo } from '../../../../shared/disk/disk-info';
import { CHS_MAX_HEADS, CHS_MAX_SECTORS_PER_TRACK, FLOPPY_PRESETS, type FloppyPresetName } from '../../../../shared/disk/geometry';
import { geometryReport, type GeometryReport } from '../../../../shared/disk/geometry-report';
import { MIN_IMAGE_SECTORS, resolveImageShape, type ImageShape } from '../../../../shared/disk/image-shape';
import { editPartitions } from '../../../../shared/disk/partition-edits';
import { parseSize, SECTOR_BYTES } from '../../../../shared/disk/sizes';
import { SparseMemoryBlockDevice } from '../../../../shared/disk/sparse-device';
import type { FsType } from '../../../../shared/fs/types';
import { embeddingArea } from '../../../../shared/boot/grub2';
import { GRUB2_SMALLEST_CORE_BYTES } from '../../../../shared/boot/grub2-room';
import type { Recipe, RecipeMenu } from '../../../../shared/recipe/schema';
import type { FieldErrors } from '../common/useForm';
import { INITIAL_KERNEL_ENTRY, kernelEntryProblems, menuOf, type KernelEntry } from '../bootloader/kernel-entry';
import { errorText } from '../common/errors';
import { formatBytes, formatCount } from '../common/format';
import { FS_LABELS, planFilesystem, suggestedFat, type FsPlan } from '../format/fs-plan';

export interface WizardForm extends KernelEntry {
  kind: 'floppy' | 'disk';
  floppy: FloppyPresetName;
  /** Hard disk: by size (rounded to whole cylinders of heads × sectors) or by C/H/S. */
  by: 'size' | 'chs';
  size: string;
  /** Round the size to whole cylinders (as the article's dd does); off: exactly the size typed. */
  wholeCylinders: boolean;
  cylinders: string;
  heads: string;
  sectorsPerTrack: string;
  table: 'none' | 'mbr' | 'gpt';
  alignmentSectors: number;
  partitionStart: string;
  /** "rest" or a size: plain numbers are sectors, with a unit bytes. */
  partitionSize: string;
  partitionType: string;
  bootable: boolean;
  fs: FsType | 'none';
  label: string;
  /** The boot loader installed after formatting. */
  bootloader: WizardLoader;
  path: string;
  /** Save the recipe beside the image (disk.img → disk.json), for `loopstudio build`. */
  saveRecipe: boolean;
}

export type WizardLoader = 'none' | 'grub2' | 'grub-legacy';

export const INITIAL_FORM: WizardForm = {
  kind: 'floppy',
  floppy: '1.44M',
  by: 'size',
  size: '64M',
  wholeCylinders: true,
  cylinders: '1000',
  heads: '16',
  sectorsPerTrack: '63',
  table: 'mbr',
  alignmentSectors: 2048,
  partitionStart: '',
  partitionSize: 'rest',
  partitionType: 'auto',
  bootable: true,
  fs: 'fat12',
  label: '',
  bootloader: 'grub-legacy',
  ...INITIAL_KERNEL_ENTRY,
  path: '',
  saveRecipe: true,
};

/** The disk step's problems, each at its own field. */
export interface ShapeErrors {
  size?: string;
  cylinders?: string;
  heads?: string;
  sectorsPerTrack?: string;
}

export interface ShapeCheck {
  shape: ImageShape | null;
  /** Hard disks: every number of the geometry wizard. */
  report: GeometryReport | null;
  /** The create call, when the shape is valid. */
  create: Pick<MethodInput<'image.create'>, 'floppy' | 'size' | 'chs'> | null;
  errors: ShapeErrors;
}

/** A whole number in a range, or the problem in words ("Heads: a whole number from 1 to 255 …"). */
function whole(text: string, what: string, min: number, max: number | null, example: string): number | string {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (/^\d+$/.test(trimmed) && value >= min && (max === null || value <= max)) return value;
  const range = max === null ? `from ${min} up` : `from ${min} to ${max}`;
  return `${what}: a whole number ${range}, such as ${example}${trimmed ? `, not “${trimmed}”` : ''}.`;
}

const HEADS = (text: string) => whole(text, 'Heads', 1, CHS_MAX_HEADS, '16 (the article) or 255');
const SECTORS = (text: string) => whole(text, 'Sectors per track', 1, CHS_MAX_SECTORS_PER_TRACK, '63');

export function checkShape(form: WizardForm): ShapeCheck {
  const refused = (errors: ShapeErrors): ShapeCheck => ({ shape: null, report: null, create: null, errors });
  if (form.kind === 'floppy') {
    const shape = resolveImageShape({ floppy: form.floppy });
    return { shape, report: null, create: { floppy: form.floppy }, errors: {} };
  }
  if (form.by === 'chs') {
    const cylinders = whole(form.cylinders, 'Cylinders', 1, null, '1000');
    const heads = HEADS(form.heads);
    const sectorsPerTrack = SECTORS(form.sectorsPerTrack);
    if (typeof cylinders === 'string' || typeof heads === 'string' || typeof sectorsPerTrack === 'string') {
      return refused({
        ...(typeof cylinders === 'string' ? { cylinders } : {}),
        ...(typeof heads === 'string' ? { heads } : {}),
        ...(typeof sectorsPerTrack === 'string' ? { sectorsPerTrack } : {}),
      });
    }
    try {
      const shape = resolveImageShape({ chs: { cylinders, heads, sectorsPerTrack } });
      const report = geometryReport({ cylinders, heads, sectorsPerTrack, imagePath: 'disk.img' });
      return { shape, report, create: { chs: `${cylinders}/${heads}/${sectorsPerTrack}` }, errors: {} };
    } catch (error) {
      // Each number is fine alone; together too few sectors: more cylinders is the fix.
      return refused({ cylinders: errorText(error) });
    }
  }
  const errors: ShapeErrors = {};
  let sizeBytes: number | null = null;
  try {
    sizeBytes = parseSize(form.size);
  } catch (error) {
    errors.size = errorText(error);
  }
  const heads = form.wholeCylinders ? HEADS(form.heads) : 0;
  const sectorsPerTrack = form.wholeCylinders ? SECTORS(form.sectorsPerTrack) : 0;
  if (typeof heads === 'string') errors.heads = heads;
  if (typeof sectorsPerTrack === 'string') errors.sectorsPerTrack = sectorsPerTrack;
  if (sizeBytes === null || typeof heads === 'string' || typeof sectorsPerTrack === 'string') return refused(errors);
  try {
    // Too small (or, unrounded, not whole sectors): the same refusal, in the same words, as image.create.
    if (!form.wholeCylinders || sizeBytes < MIN_IMAGE_SECTORS * SECTOR_BYTES) resolveImageShape({ size: form.size.trim() });
    if (form.wholeCylinders) {
      const report = geometryReport({ sizeBytes, heads, sectorsPerTrack, imagePath: 'disk.img' });
      const { cylinders } = report.geometry;
      const shape = resolveImageShape({ chs: report.geometry });
      return { shape, report, create: { chs: `${cylinders}/${heads}/${sectorsPerTrack}` }, errors: {} };
    }
    const shape = resolveImageShape({ size: sizeBytes });
    const report = geometryReport({
      cylinders: shape.geometry.cylinders,
      heads: shape.geometry.heads,
      sectorsPerTrack: shape.geometry.sectorsPerTrack,
      imagePath: 'disk.img',
    });
    return { shape, report, create: { size: sizeBytes }, errors: {} };
  } catch (error) {
    return refused({ size: errorText(error) });
  }
}

export interface PartitionCheck {
  /** The first partition as the disk core would place it. */
  partition: PartitionInfo | null;
  disk: DiskInfo | null;
  /** The partition call's steps, when valid. */
  spec: string | null;
  error: string | null;
}

/** The MBR type for the chosen filesystem (the formatter sets the same one afterwards). */
export function typeFor(form: Pick<WizardForm, 'fs' | 'table' | 'partitionType'>): string {
  if (form.partitionType !== 'auto') return form.partitionType;
  if (form.table === 'gpt') return form.fs === 'ext2' || form.fs === 'none' ? 'linux' : 'msdata';
  return form.fs === 'fat12' ? '01' : form.fs === 'fat16' ? '06' : form.fs === 'fat32' ? '0c' : '83';
}

export function partitionSpec(form: WizardForm): string {
  const items = [
    `start=${form.partitionStart.trim() || form.alignmentSectors}`,
    `size=${form.partitionSize.trim() || 'rest'}`,
    `type=${typeFor(form)}`,
  ];
  if (form.bootable) items.push('bootable');
  return items.join(',');
}

/** Places the first partition on an in-memory disk of the image's size, as image.partition will. */
export function checkPartition(form: WizardForm, shape: ImageShape): Promise<PartitionCheck> {
  if (form.kind === 'floppy' || form.table === 'none') return Promise.resolve({ partition: null, disk: null, spec: null, error: null });
  return checkPartitionSpec(form.table, form.alignmentSectors, partitionSpec(form), shape.sizeBytes);
}

/** checkPartition from what it depends on: the table, the alignment and the `--add` spec. */
export async function checkPartitionSpec(
  table: 'mbr' | 'gpt',
  alignmentSectors: number,
  spec: string,
  sizeBytes: number,
): Promise<PartitionCheck> {
  try {
    const { after } = await editPartitions(new SparseMemoryBlockDevice(sizeBytes), {
      table,
      alignmentSectors,
      steps: [{ op: 'add', spec }],
    });
    return { partition: after.partitions[0] ?? null, disk: after, spec, error: null };
  } catch (error) {
    return { partition: null, disk: null, spec: null, error: errorText(error) };
  }
}

/** The filesystem the wizard suggests for a volume: ext2 on a disk of 32 MiB or more, else the FAT mkfs.fat would pick. */
export function suggestedFs(form: Pick<WizardForm, 'kind'>, volume: { sizeBytes: number; startSector: number } | null): FsType {
  if (!volume) return form.kind === 'disk' ? 'ext2' : 'fat12';
  return form.kind === 'disk' && volume.sizeBytes >= 32 * 1024 * 1024 ? 'ext2' : suggestedFat(volume.sizeBytes, volume.startSector);
}

/** The volume the filesystem goes on: the first partition, or the whole image. */
export function volumeOf(
  form: Pick<WizardForm, 'kind' | 'table'>,
  shape: ImageShape,
  partition: PartitionInfo | null,
): { sizeBytes: number; startSector: number } | null {
  if (form.kind === 'floppy' || form.table === 'none') return { sizeBytes: shape.sizeBytes, startSector: 0 };
  return partition ? { sizeBytes: partition.sizeBytes, startSector: partition.startSector } : null;
}

export function checkFilesystem(form: WizardForm, volume: { sizeBytes: number; startSector: number } | null): FsPlan | null {
  if (form.fs === 'none' || !volume) return null;
  return planFilesystem(volume.sizeBytes, { fs: form.fs, label: form.label }, volume.startSector);
}

/** What Create will do, in order, for the summary. */
export function summaryLines(form: WizardForm, shape: ImageShape, partition: PartitionInfo | null): string[] {
  const lines: string[] = [];
  const name = form.path.trim() || '(no file chosen yet)';
  lines.push(
    form.kind === 'floppy'
      ? `Create ${name}: a ${form.floppy} floppy (${FLOPPY_PRESETS[form.floppy].description}), ${formatBytes(shape.sizeBytes)}, sparse.`
      : `Create ${name}: ${formatBytes(shape.sizeBytes)}, ${shape.geometry.cylinders}/${shape.geometry.heads}/${shape.geometry.sectorsPerTrack} C/H/S, ${formatCount(shape.totalSectors)} sectors, sparse.`,
  );
  if (form.kind === 'disk' && form.table !== 'none' && partition) {
    lines.push(
      `Write ${form.table === 'mbr' ? 'an MBR' : 'a GPT'} with partition 1 from sector ${partition.startSector} to ${partition.endSector} (${formatBytes(partition.sizeBytes)}, byte offset ${formatCount(partition.offsetBytes)}), type ${typeFor(form)}${form.bootable ? ', bootable' : ''}.`,
    );
  }
  if (form.fs !== 'none') {
    lines.push(
      `Format ${partition ? 'partition 1' : 'the whole image'} as ${FS_LABELS[form.fs]}${form.label.trim() ? ` labelled “${form.label.trim()}”` : ''}.`,
    );
  }
  if (form.fs !== 'none' && form.bootloader !== 'none') {
    const name = form.bootloader === 'grub2' ? 'GRUB 2' : 'GRUB legacy';
    lines.push(
      form.kernelFile.trim()
        ? `Install ${name}, copy ${form.kernelFile.trim()} to ${form.kernelPath.trim()} and write a menu that boots it (${form.kernelType}${form.cmdline.trim() ? ` ${form.cmdline.trim()}` : ''}${form.serial ? ', on the serial console too' : ''}).`
        : `Install ${name} without a menu: it starts at its command prompt (add a kernel later with Install bootloader…).`,
    );
  }
  const recipe = recipePathFor(form.path);
  if (form.saveRecipe && recipe)
    lines.push(`Save the recipe as ${recipe}: \`loopstudio build ${recipe.split('/').pop()}\` makes this image again.`);
  return lines;
}

// --- Boot loader ---

export interface LoaderChoice {
  id: WizardLoader;
  label: string;
  /** Why it cannot be chosen for this layout, or null. */
  unavailable: string | null;
}

/** Which boot loaders fit the layout, and why the others do not (the install's own refusals, early). */
export function loaderChoices(form: WizardForm, disk: DiskInfo | null): LoaderChoice[] {
  const noFs = form.fs === 'none' ? 'Needs a filesystem for /boot: choose one in the Filesystem step.' : null;
  const partitioned = form.kind === 'disk' && form.table !== 'none';
  let grub2: string | null = noFs;
  if (!grub2 && !partitioned)
    grub2 = 'GRUB 2 needs a partitioned disk: core.img goes between the MBR and the first partition. Use GRUB legacy here.';
  if (!grub2 && form.table === 'gpt')
    grub2 =
      'On GPT, GRUB 2 needs a BIOS boot partition, which this wizard does not make: add one in the partition editor, then use Install bootloader….';
  if (!grub2 && disk) {
    const area = embeddingArea(disk);
    if (area.sectorCount * SECTOR_BYTES < GRUB2_SMALLEST_CORE_BYTES) {
      grub2 = `${area.description} holds ${formatBytes(area.sectorCount * SECTOR_BYTES)}, less than GRUB 2's smallest core.img (${formatBytes(GRUB2_SMALLEST_CORE_BYTES)}): start the partition at sector 63 or later.`;
    }
  }
  const legacy = noFs ?? (form.table === 'gpt' && form.kind === 'disk' ? 'GRUB legacy does not know GPT partitions.' : null);
  return [
    { id: 'none', label: 'None', unavailable: null },
    { id: 'grub-legacy', label: 'GRUB legacy', unavailable: legacy },
    { id: 'grub2', label: 'GRUB 2', unavailable: grub2 },
  ];
}

/** What each boot loader does on this layout, in the article's terms (a hard disk is set up as (hd0), a floppy as (fd0)). */
export function loaderHint(id: WizardLoader, form: Pick<WizardForm, 'kind' | 'table'>): string {
  const hardDisk = form.kind === 'disk';
  const onPartition = hardDisk && form.table !== 'none';
  switch (id) {
    case 'none':
      return 'Leave sector 0 as it is; install one later.';
    case 'grub-legacy':
      return hardDisk
        ? `stage1 in the MBR, stage2 and menu.lst in /boot/grub${onPartition ? ' on partition 1' : ''}, as the article’s root ${onPartition ? '(hd0,0)' : '(hd0)'} and setup (hd0).`
        : 'stage1 in sector 0, stage2 and menu.lst in /boot/grub, as the article’s setup (fd0).';
    case 'grub2':
      return 'boot.img in the MBR, core.img in the gap before partition 1, modules and grub.cfg in /boot/grub.';
  }
}

/** The loader the wizard starts with for a layout: GRUB legacy for floppies, GRUB 2 where it fits. */
export function suggestedLoader(choices: LoaderChoice[], kind: WizardForm['kind']): WizardLoader {
  const ok = (id: WizardLoader) => choices.find((c) => c.id === id)?.unavailable === null;
  if (kind === 'disk' && ok('grub2')) return 'grub2';
  return ok('grub-legacy') ? 'grub-legacy' : 'none';
}

/** The kernel entry's problems, when the wizard writes a menu (a boot loader and a kernel to copy in). */
export function kernelProblems(form: WizardForm): FieldErrors<KernelEntry> {
  if (form.bootloader === 'none' || form.fs === 'none' || !form.kernelFile.trim()) return {};
  return kernelEntryProblems(form, form.bootloader);
}

/** The first of them, or null. */
export function checkKernelPath(form: WizardForm): string | null {
  return Object.values(kernelProblems(form)).find(Boolean) ?? null;
}

/** The one-entry boot menu for the kernel the wizard copies in: the install's and the recipe's. */
export function wizardMenu(form: WizardForm): RecipeMenu {
  return menuOf(form, form.label.trim() || 'My OS');
}

// --- Recipe ---

/** Where the recipe of `imagePath` goes: beside it, disk.img → disk.json (what `loopstudio build disk.json` turns back into disk.img). */
export function recipePathFor(imagePath: string): string | null {
  const path = imagePath.trim();
  if (!path || path.endsWith('/')) return null;
  return /\.img$/i.test(path) ? path.replace(/\.img$/i, '.json') : `${path}.json`;
}

/** The recipe of what the wizard creates: `loopstudio build` makes the same image from it. */
export function recipeFromWizard(form: WizardForm, partition: PartitionInfo | null): Recipe {
  const shape = checkShape(form).create;
  const image = shape?.floppy ? { floppy: shape.floppy } : shape?.chs ? { chs: shape.chs } : { size: shape?.size ?? form.size.trim() };
  const filesystem = form.fs === 'none' ? undefined : { type: form.fs, ...(form.label.trim() ? { label: form.label.trim() } : {}) };
  const partitioned = form.kind === 'disk' && form.table !== 'none';
  const kernelFile = form.kernelFile.trim();
  const withMenu = form.fs !== 'none' && form.bootloader !== 'none' && kernelFile !== '';
  const recipe: Recipe = {
    description: `Made by Loopback Studio's new-image wizard${form.path.trim() ? ` as ${form.path.trim().split('/').pop()}` : ''}.`,
    image,
    ...(partitioned && partition
      ? {
          table: form.table as 'mbr' | 'gpt',
          partitions: [
            {
              start: partition.startSector,
              size: partition.sectorCount,
              ...(form.partitionType !== 'auto' || form.fs === 'none' ? { type: typeFor(form) } : {}),
              ...(form.bootable ? { bootable: true } : {}),
              ...(filesystem ? { filesystem } : {}),
            },
          ],
        }
      : filesystem
        ? { filesystem }
        : {}),
    ...(withMenu ? { files: [{ from: kernelFile, to: form.kernelPath.trim() }] } : {}),
  };
  if (form.fs !== 'none' && form.bootloader !== 'none') {
    recipe.bootloader = {
      ...(form.bootloader === 'grub2' ? { grub2: {} } : { grubLegacy: {} }),
      ...(withMenu ? { menu: wizardMenu(form) } : {}),
    };
  }
  return recipe;
}
