/**
 * Create, from the new-image wizard: make the file, write the first partition, format, install
 * the boot loader, save the recipe beside the image, then open it. Each step is one call to the services; the wizard has already checked every value with
 * the same code they run. A refusal of the file itself (it exists, its folder does not) goes back
 * to the path field; a later failure leaves the created image open, saying which step failed.
 */
import { create } from 'zustand';
import type { MethodInput } from '../../../shared/api/contract';
import { bootloaderCommands, createCommands, formatCommands, partitionCommands, type VolumeAt } from '../../../shared/commands/equivalents';
import type { FsType } from '../../../shared/fs/types';
import { api } from '../api';
import { explainError } from '../features/common/errors';
import { basename, formatBytes, formatCount } from '../features/common/format';
import { logError, logInfo } from './activity';
import { openImage } from './images';

export interface CreatePlan {
  path: string;
  shape: Pick<MethodInput<'image.create'>, 'floppy' | 'size' | 'chs'>;
  partition: { table: 'mbr' | 'gpt'; alignmentSectors: number; spec: string } | null;
  filesystem: { fs: FsType; label: string } | null;
  /** Installed after formatting (the partition is filled in here). */
  bootloader: Omit<MethodInput<'bootloader.install'>, 'path' | 'partition'> | null;
  /** Saved last, when everything before it worked: the recipe that makes the same image. */
  recipe: { path: string; document: unknown } | null;
}

export interface NewImageState {
  /** The step running: "Creating the image file". */
  step: string | null;
}

export const useNewImageStore = create<NewImageState>()(() => ({ step: null }));

export type CreateOutcome = { ok: true } | { ok: false; field: 'path' | null; message: string };

export async function createFromPlan(plan: CreatePlan): Promise<CreateOutcome> {
  const name = basename(plan.path);
  useNewImageStore.setState({ step: 'Creating the image file' });
  try {
    let volume: VolumeAt;
    try {
      const created = await api().image.create({ path: plan.path, ...plan.shape });
      logInfo(
        `Created ${created.path}: ${formatBytes(created.sizeBytes)} (${formatCount(created.sizeBytes)} bytes), ${created.geometry.cylinders}/${created.geometry.heads}/${created.geometry.sectorsPerTrack} C/H/S`,
        createCommands(plan.path, plan.shape, created),
      );
      volume = { image: plan.path, partition: null, startSector: 0, sectorCount: created.totalSectors };
    } catch (error) {
      const { text, code } = explainError(error);
      logError(error, `Creating ${name}`);
      return {
        ok: false,
        field: code === 'ALREADY_EXISTS' || code === 'NOT_FOUND' || code === 'IO' || code === 'INVALID_INPUT' ? 'path' : null,
        message: text,
      };
    }
    let failed: string | null = null;
    if (plan.partition) {
      useNewImageStore.setState({ step: 'Writing the partition table' });
      try {
        const request = {
          table: plan.partition.table,
          alignmentSectors: plan.partition.alignmentSectors,
          steps: [{ op: 'add' as const, spec: plan.partition.spec }],
        };
        const { after } = await api().image.partition({ path: plan.path, ...request });
        logInfo(
          `Partitioned ${name}: ${plan.partition.table.toUpperCase()}, ${plan.partition.spec}`,
          partitionCommands(plan.path, request, after),
        );
        const first = after.partitions[0];
        if (first) volume = { image: plan.path, partition: 1, startSector: first.startSector, sectorCount: first.sectorCount };
      } catch (error) {
        failed = `${name} was created, but writing its partition table failed: ${logError(error, `Partitioning ${name}`).text}`;
      }
    }
    if (plan.filesystem && !failed) {
      useNewImageStore.setState({ step: `Formatting as ${plan.filesystem.fs.toUpperCase()}` });
      try {
        await api().image.format({
          path: plan.path,
          ...(plan.partition ? { partition: 1 } : {}),
          fs: plan.filesystem.fs,
          ...(plan.filesystem.label.trim() ? { label: plan.filesystem.label.trim() } : {}),
        });
        logInfo(
          `Formatted ${plan.partition ? `partition 1 of ${name}` : name} as ${plan.filesystem.fs.toUpperCase()}`,
          formatCommands(volume, {
            fs: plan.filesystem.fs,
            ...(plan.filesystem.label.trim() ? { label: plan.filesystem.label.trim() } : {}),
          }),
        );
      } catch (error) {
        failed = `${name} was created, but formatting failed: ${logError(error, `Formatting ${name}`).text}`;
      }
    }
    if (plan.bootloader && !failed) {
      const loader =
        plan.bootloader.loader === 'grub2' ? 'GRUB 2' : plan.bootloader.loader === 'grub-legacy' ? 'GRUB legacy' : 'the boot sector';
      useNewImageStore.setState({ step: `Installing ${loader}` });
      try {
        const result = await api().bootloader.install({
          ...plan.bootloader,
          path: plan.path,
          ...(plan.partition ? { partition: 1 } : {}),
        } as MethodInput<'bootloader.install'>);
        logInfo(
          `Installed ${loader} on ${result.volume}${result.files.length ? `: ${result.files.join(', ')}` : ''}`,
          bootloaderCommands(volume, plan.bootloader, {
            table: plan.partition?.table ?? 'none',
            floppy: 'floppy' in plan.shape && !!plan.shape.floppy,
            fs: plan.filesystem?.fs ?? null,
          }),
        );
      } catch (error) {
        failed = `${name} was created and formatted, but installing ${loader} failed: ${logError(error, `Installing ${loader}`).text}`;
      }
    }
    if (plan.recipe && !failed) {
      useNewImageStore.setState({ step: 'Saving the recipe' });
      try {
        const saved = await api().recipe.save({ path: plan.recipe.path, recipe: plan.recipe.document });
        logInfo(`Saved the recipe ${saved.path}: loopstudio build ${basename(saved.path)} makes ${name} again`, [
          `loopstudio build ${basename(saved.path)}`,
          `loopstudio build --print-commands ${basename(saved.path)}   # the same as a shell script with the classic tools`,
        ]);
      } catch (error) {
        failed = `${name} is ready, but its recipe was not saved: ${logError(error, 'Saving the recipe').text}`;
      }
    }
    useNewImageStore.setState({ step: 'Opening it' });
    await openImage(plan.path);
    return failed ? { ok: false, field: null, message: failed } : { ok: true };
  } catch (error) {
    return { ok: false, field: null, message: logError(error, `Opening ${name}`).text };
  } finally {
    useNewImageStore.setState({ step: null });
  }
}
