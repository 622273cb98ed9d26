/**
 * What Create will run, as the commands that do it from a terminal (the wizard's "Show
 * commands"): each step's `loopstudio` line and the classic tools' lines, from the same builders
 * the activity log uses once each step has run (shared/commands/equivalents.ts).
 */
import {
  bootloaderCommands,
  createCommands,
  formatCommands,
  partitionCommands,
  type VolumeAt,
} from '../../../../shared/commands/equivalents';
import { recipePathFor, wizardMenu, type PartitionCheck, type ShapeCheck, type WizardForm } from './plan';

export function wizardCommands(form: WizardForm, shapeCheck: ShapeCheck, partitionCheck: PartitionCheck): string[] {
  const { shape, create } = shapeCheck;
  const path = form.path.trim() || (form.kind === 'floppy' ? 'floppy.img' : 'disk.img');
  if (!shape || !create) return [];
  const lines = ['# 1. the image file', ...createCommands(path, create, shape)];
  const partitioned = form.kind === 'disk' && form.table !== 'none';
  let volume: VolumeAt = { image: path, partition: null, startSector: 0, sectorCount: shape.totalSectors };
  if (partitioned) {
    if (!partitionCheck.spec || !partitionCheck.disk || !partitionCheck.partition) return lines;
    lines.push(
      '',
      '# 2. the partition table',
      ...partitionCommands(
        path,
        { table: form.table as 'mbr' | 'gpt', alignmentSectors: form.alignmentSectors, steps: [{ op: 'add', spec: partitionCheck.spec }] },
        partitionCheck.disk,
      ),
    );
    volume = {
      image: path,
      partition: 1,
      startSector: partitionCheck.partition.startSector,
      sectorCount: partitionCheck.partition.sectorCount,
    };
  }
  if (form.fs === 'none') return lines;
  lines.push(
    '',
    '# the filesystem',
    ...formatCommands(volume, { fs: form.fs, ...(form.label.trim() ? { label: form.label.trim() } : {}) }),
  );
  if (form.bootloader !== 'none') {
    const kernelFile = form.kernelFile.trim();
    lines.push(
      '',
      '# the boot loader',
      ...bootloaderCommands(
        volume,
        { loader: form.bootloader, ...(kernelFile ? { kernelFile, menu: wizardMenu(form) } : {}) },
        { table: partitioned ? (form.table as 'mbr' | 'gpt') : 'none', floppy: form.kind === 'floppy', fs: form.fs },
      ),
    );
  }
  const recipe = recipePathFor(form.path);
  if (form.saveRecipe && recipe)
    lines.push('', '# all of it again, from the recipe saved beside the image', `loopstudio build ${recipe.split('/').pop()}`);
  return lines;
}
