/**
 * The new-image wizard's arithmetic, in the window and with the disk core's own code: the image's
 * shape (resolveImageShape), the geometry report (geometryReport), the first partition (a dry run
 * of editPartitions on an in-memory disk of the same size) and the filesystem (the formatter's
 * planner). So the wizard refuses exactly what `image.create`, `image.partition` and
 * `image.format` would refuse, in the same words, before a file exists.
 */
import type { MethodInput } from '../../../../shared/api/contract';
import type { DiskInfo, PartitionInfo } from '../../../../shared/disk/disk-info';
import { FLOPPY_PRESETS, type FloppyPresetName } from '../../../../shared/disk/geometry';
import { geometryReport, type GeometryReport } from '../../../../shared/disk/geometry-report';
import { MIN_IMAGE_SECTORS, resolveImageShape, type ImageShape } from '../../../../shared/disk/image-shape';
import { editPartitions } from '../../../../shared/disk/partition-edits';
import { parseSize, SECTOR_BYTES } from '../../../../shared/disk/sizes';
import { SparseMemoryBlockDevice } from '../../../../shared/disk/sparse-device';
import type { FsType } from '../../../../shared/fs/types';
import { errorText } from '../common/errors';
import { formatBytes } from '../common/format';
import { FS_LABELS, planFilesystem, type FsPlan } from '../format/fs-plan';

export interface WizardForm {
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
  path: string;
}

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
  path: '',
};

export interface ShapeCheck {
  shape: ImageShape | null;
  /** Hard disks: every number of the geometry wizard. */
  report: GeometryReport | null;
  /** The create call, when the shape is valid. */
  create: Pick<MethodInput<'image.create'>, 'floppy' | 'size' | 'chs'> | null;
  errors: { size?: string; chs?: string };
}

function whole(text: string, what: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new Error(`${what} must be a whole number`);
  return Number(trimmed);
}

export function checkShape(form: WizardForm): ShapeCheck {
  if (form.kind === 'floppy') {
    const shape = resolveImageShape({ floppy: form.floppy });
    return { shape, report: null, create: { floppy: form.floppy }, errors: {} };
  }
  if (form.by === 'chs') {
    try {
      const geometry = { cylinders: whole(form.cylinders, 'Cylinders'), heads: whole(form.heads, 'Heads'), sectorsPerTrack: whole(form.sectorsPerTrack, 'Sectors per track') };
      const shape = resolveImageShape({ chs: geometry });
      const report = geometryReport({ cylinders: geometry.cylinders, heads: geometry.heads, sectorsPerTrack: geometry.sectorsPerTrack, imagePath: 'disk.img' });
      return { shape, report, create: { chs: `${geometry.cylinders}/${geometry.heads}/${geometry.sectorsPerTrack}` }, errors: {} };
    } catch (error) {
      return { shape: null, report: null, create: null, errors: { chs: errorText(error) } };
    }
  }
  try {
    const sizeBytes = parseSize(form.size);
    const heads = whole(form.heads, 'Heads');
    const sectorsPerTrack = whole(form.sectorsPerTrack, 'Sectors per track');
    // Too small (or, unrounded, not whole sectors): the same refusal, in the same words, as image.create.
    if (!form.wholeCylinders || sizeBytes < MIN_IMAGE_SECTORS * SECTOR_BYTES) resolveImageShape({ size: form.size.trim() });
    if (form.wholeCylinders) {
      const report = geometryReport({ sizeBytes, heads, sectorsPerTrack, imagePath: 'disk.img' });
      const { cylinders } = report.geometry;
      const shape = resolveImageShape({ chs: report.geometry });
      return { shape, report, create: { chs: `${cylinders}/${heads}/${sectorsPerTrack}` }, errors: {} };
    }
    const shape = resolveImageShape({ size: sizeBytes });
    const report = geometryReport({ cylinders: shape.geometry.cylinders, heads: shape.geometry.heads, sectorsPerTrack: shape.geometry.sectorsPerTrack, imagePath: 'disk.img' });
    return { shape, report, create: { size: sizeBytes }, errors: {} };
  } catch (error) {
    return { shape: null, report: null, create: null, errors: { size: errorText(error) } };
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
  const items = [`start=${form.partitionStart.trim() || form.alignmentSectors}`, `size=${form.partitionSize.trim() || 'rest'}`, `type=${typeFor(form)}`];
  if (form.bootable) items.push('bootable');
  return items.join(',');
}

/** Places the first partition on an in-memory disk of the image's size, as image.partition will. */
export async function checkPartition(form: WizardForm, shape: ImageShape): Promise<PartitionCheck> {
  if (form.kind === 'floppy' || form.table === 'none') return { partition: null, disk: null, spec: null, error: null };
  const spec = partitionSpec(form);
  try {
    const { after } = await editPartitions(new SparseMemoryBlockDevice(shape.sizeBytes), {
      table: form.table,
      alignmentSectors: form.alignmentSectors,
      steps: [{ op: 'add', spec }],
    });
    return { partition: after.partitions[0] ?? null, disk: after, spec, error: null };
  } catch (error) {
    return { partition: null, disk: null, spec: null, error: errorText(error) };
  }
}

/** The volume the filesystem goes on: the first partition, or the whole image. */
export function volumeOf(form: WizardForm, shape: ImageShape, partition: PartitionInfo | null): { sizeBytes: number; startSector: number } | null {
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
      : `Create ${name}: ${formatBytes(shape.sizeBytes)}, ${shape.geometry.cylinders}/${shape.geometry.heads}/${shape.geometry.sectorsPerTrack} C/H/S, ${shape.totalSectors} sectors, sparse.`,
  );
  if (form.kind === 'disk' && form.table !== 'none' && partition) {
    lines.push(
      `Write ${form.table === 'mbr' ? 'an MBR' : 'a GPT'} with partition 1 from sector ${partition.startSector} to ${partition.endSector} (${formatBytes(partition.sizeBytes)}, byte offset ${partition.offsetBytes}), type ${typeFor(form)}${form.bootable ? ', bootable' : ''}.`,
    );
  }
  if (form.fs !== 'none') {
    lines.push(`Format ${partition ? 'partition 1' : 'the whole image'} as ${FS_LABELS[form.fs]}${form.label.trim() ? ` labelled “${form.label.trim()}”` : ''}.`);
  }
  return lines;
}
