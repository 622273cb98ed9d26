/**
 * The partition editor's state: the changes staged for one image and the disk as it would be
 * after them. Each change is accepted only when the service's dry run of all staged steps
 * together passes (the same validation that writes them, nothing written); Apply then writes them
 * in one step.
 */
import { create } from 'zustand';
import type { ImageInfo } from '../../../shared/api/contract';
import type { DiskInfo } from '../../../shared/disk/disk-info';
import { layoutAlignment, MODERN_ALIGNMENT_SECTORS } from '../../../shared/disk/partition-spec';
import { api } from '../api';
import { errorText } from '../features/common/errors';
import { basename } from '../features/common/format';
import { describeEdit, planSteps, type StagedEdit, type TableKind } from '../features/partitions/edits';
import { partitionCommands } from '../../../shared/commands/equivalents';
import { logError, logInfo } from './activity';
import { refreshImage } from './images';

export interface PartitionsState {
  image: string | null;
  /** A table to create (the image has none) or to start afresh (`fresh`: its partitions go). */
  newTable: { table: TableKind; fresh: boolean } | null;
  alignmentSectors: number;
  staged: StagedEdit[];
  /** The disk after the staged changes (null: nothing staged). */
  preview: DiskInfo | null;
  checking: boolean;
  applying: boolean;
  /** Why Apply failed. */
  applyError: string | null;
  /** What the last Apply wrote ("Wrote the MBR of disk.img: 2 partitions."), until the next change. */
  written: string | null;
}

export const initialPartitionsState: PartitionsState = {
  image: null,
  newTable: null,
  alignmentSectors: MODERN_ALIGNMENT_SECTORS,
  staged: [],
  preview: null,
  checking: false,
  applying: false,
  applyError: null,
  written: null,
};

export const usePartitionsStore = create<PartitionsState>()(() => initialPartitionsState);

export function resetPartitionsStore(): void {
  usePartitionsStore.setState(initialPartitionsState, true);
}

/**
 * Starts editing an image; staged changes of another image are dropped. Partitions align as the
 * image's already do (63 for the classic sector-63 layout, else 2048).
 */
export function editImage(info: Pick<ImageInfo, 'path' | 'partitions'>): void {
  if (usePartitionsStore.getState().image !== info.path) {
    usePartitionsStore.setState({
      ...initialPartitionsState,
      image: info.path,
      alignmentSectors: layoutAlignment(info.partitions.map((p) => p.startSector)),
    });
  }
}

/** The table the edits work on: the new one, or the image's own. */
export function tableKind(info: ImageInfo, state: Pick<PartitionsState, 'newTable'>): TableKind | null {
  return state.newTable?.table ?? (info.table === 'none' ? null : info.table);
}

function plan(state: Pick<PartitionsState, 'newTable' | 'alignmentSectors'>, edits: readonly StagedEdit[], table: TableKind) {
  return {
    ...(state.newTable ? { table: state.newTable.table, ...(state.newTable.fresh ? { fresh: true } : {}) } : {}),
    alignmentSectors: state.alignmentSectors,
    steps: planSteps(edits, table),
  };
}

async function dryRun(
  path: string,
  table: TableKind,
  edits: readonly StagedEdit[],
  state = usePartitionsStore.getState(),
): Promise<DiskInfo> {
  const result = await api().image.partition({ path, dryRun: true, ...plan(state, edits, table) });
  return result.after;
}

/**
 * Stages one change after a dry run of it with all the others. Answers null when it was
 * accepted, or the reason it was refused (for the form that asked). With `replaceLast`, it takes
 * the place of the last staged change (see continuesLastResize).
 */
export async function stageEdit(info: ImageInfo, edit: StagedEdit, options: { replaceLast?: boolean } = {}): Promise<string | null> {
  const state = usePartitionsStore.getState();
  const table = tableKind(info, state);
  if (!table) return 'Choose a partition table first: MBR or GPT.';
  const edits = [...(options.replaceLast ? state.staged.slice(0, -1) : state.staged), edit];
  usePartitionsStore.setState({ checking: true });
  try {
    const preview = await dryRun(info.path, table, edits, state);
    usePartitionsStore.setState({ staged: edits, preview, checking: false, applyError: null, written: null });
    return null;
  } catch (error) {
    usePartitionsStore.setState({ checking: false });
    return errorText(error);
  }
}

/**
 * What the dry run says of one more change with every staged one, without staging it: the
 * forms check numbers as they are typed (an overlap is said before Stage is pressed). null: fine.
 */
export async function checkEdit(info: ImageInfo, edit: StagedEdit, options: { replaceLast?: boolean } = {}): Promise<string | null> {
  const state = usePartitionsStore.getState();
  const table = tableKind(info, state);
  if (!table) return null;
  try {
    await dryRun(info.path, table, [...(options.replaceLast ? state.staged.slice(0, -1) : state.staged), edit], state);
    return null;
  } catch (error) {
    return errorText(error);
  }
}

/** Chooses the table to create; checked by a dry run so the preview shows it empty. */
export async function chooseNewTable(info: ImageInfo, newTable: PartitionsState['newTable']): Promise<string | null> {
  usePartitionsStore.setState({ newTable, staged: [], preview: null, applyError: null });
  if (!newTable) return null;
  try {
    const preview = await dryRun(info.path, newTable.table, []);
    usePartitionsStore.setState({ preview });
    return null;
  } catch (error) {
    usePartitionsStore.setState({ newTable: null });
    return errorText(error);
  }
}

export function setAlignment(alignmentSectors: number): void {
  usePartitionsStore.setState({ alignmentSectors });
}

/** Takes back the last staged change. */
export async function undoLastEdit(info: ImageInfo): Promise<void> {
  const state = usePartitionsStore.getState();
  const edits = state.staged.slice(0, -1);
  const table = tableKind(info, state);
  if (edits.length === 0 || !table) {
    usePartitionsStore.setState({
      staged: [],
      preview: state.newTable && table ? await dryRun(info.path, table, []).catch(() => null) : null,
    });
    return;
  }
  usePartitionsStore.setState({ staged: edits, preview: await dryRun(info.path, table, edits).catch(() => null) });
}

export function discardEdits(): void {
  usePartitionsStore.setState((s) => ({ ...initialPartitionsState, image: s.image }));
}

/** Writes every staged change in one step, then reads the image again. */
export async function applyEdits(info: ImageInfo): Promise<boolean> {
  const state = usePartitionsStore.getState();
  const table = tableKind(info, state);
  if (!table) return false;
  usePartitionsStore.setState({ applying: true, applyError: null });
  try {
    const request = plan(state, state.staged, table);
    const { after } = await api().image.partition({ path: info.path, ...request });
    logInfo(
      `Partitioned ${basename(info.path)}: ${[
        ...(state.newTable ? [`new ${state.newTable.table.toUpperCase()} table`] : []),
        ...state.staged.map((edit) => describeEdit(edit, table)),
      ].join('; ')}`,
      partitionCommands(info.path, request, after),
    );
    const count = after.partitions.length;
    const written = `Wrote the ${table === 'mbr' ? 'MBR' : 'GPT'} of ${basename(info.path)}: ${count} partition${count === 1 ? '' : 's'}, as sfdisk will read it.`;
    usePartitionsStore.setState({ ...initialPartitionsState, image: info.path, alignmentSectors: state.alignmentSectors, written });
    await refreshImage(info.path);
    return true;
  } catch (error) {
    usePartitionsStore.setState({ applying: false, applyError: logError(error, `Partitioning ${basename(info.path)}`).text });
    return false;
  }
}
