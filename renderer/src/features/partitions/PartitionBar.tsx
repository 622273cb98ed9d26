import { useEffect, useId, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import type { ImageInfo } from '../../../../shared/api/contract';
import type { DiskInfo } from '../../../../shared/disk/disk-info';
import { stageEdit, usePartitionsStore } from '../../stores/partitions';
import { formatBytes } from '../common/format';
import { DiskBar, segmentKey } from '../image/DiskBar';
import type { Partition, Segment } from '../image/segments';
import { continuesLastResize, resizeEdit } from './edits';
import {
  dragTo,
  isSliderKey,
  keyStep,
  lastSectorOf,
  pixelsToSectors,
  roomFor,
  sliderValues,
  withExtent,
  type DragHandle,
  type Extent,
  type Room,
} from './extent-drag';

/**
 * The partition editor's bar: the disk to scale, and on each partition a start and an end handle
 * (sliders: drag them, or use the arrow keys) to resize it, and its body to drag to move it.
 * Numbers snap to the alignment (extent-drag.ts). Letting go — or pausing the keys, or leaving
 * the handle — stages a resize, checked by the service's dry run with every other staged change
 * exactly as typed numbers are; a refusal is said under the bar and the partition goes back.
 * Escape cancels a drag.
 */

type ShownDisk = DiskInfo & { partitions: Partition[] };

interface Draft {
  index: number;
  handle: DragHandle;
  extent: Extent;
  /** 'staging': let go, waiting for the dry run. */
  via: 'pointer' | 'keyboard' | 'staging';
}

interface PointerDrag {
  index: number;
  handle: DragHandle;
  pointerId: number;
  originX: number;
  original: Extent;
  room: Room;
  widthPx: number;
  /** The body moves only after a few pixels, so that a click still selects. */
  started: boolean;
}

/** How far the pointer must go on a partition's body before it moves rather than selects. */
const MOVE_THRESHOLD_PX = 4;
/** Key presses on a handle are staged together once they pause this long (or focus leaves). */
const KEY_PAUSE_MS = 700;

const extentOf = (p: Extent): Extent => ({ startSector: p.startSector, sectorCount: p.sectorCount });
const sameExtent = (a: Extent, b: Extent) => a.startSector === b.startSector && a.sectorCount === b.sectorCount;

function alignmentText(alignment: number): string {
  return alignment === 2048 ? '2048 sectors (1 MiB)' : alignment === 63 ? '63 sectors (one track)' : `${alignment} sectors`;
}

export function PartitionBar({
  info,
  disk,
  alignment,
  label,
  selected,
  onSelect,
}: {
  info: ImageInfo;
  /** The disk as shown: after the staged changes. */
  disk: ShownDisk;
  alignment: number;
  label: string;
  selected: string | null;
  onSelect: (key: string) => void;
}) {
  const [draft, setDraftState] = useState<Draft | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const draftRef = useRef<Draft | null>(null);
  const pointer = useRef<PointerDrag | null>(null);
  const trackRef = useRef<HTMLDivElement>(null);
  const keyTimer = useRef<number | undefined>(undefined);
  // Drops are staged one after another: each dry run starts from the changes the last one staged.
  const staging = useRef<Promise<void>>(Promise.resolve());
  const hintId = useId();

  const setDraft = (next: Draft | null) => {
    draftRef.current = next;
    setDraftState(next);
  };

  const drawn = draft ? withExtent(disk, draft.index, draft.extent) : disk;

  useEffect(() => () => window.clearTimeout(keyTimer.current), []);

  // Escape cancels a pointer drag wherever the focus is.
  const dragging = draft?.via === 'pointer';
  useEffect(() => {
    if (!dragging) return;
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      e.stopPropagation();
      pointer.current = null;
      setDraft(null);
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [dragging]);

  /** Stages the draft as a resize of its partition, after any drop still being checked. */
  const stage = (d: Draft) => {
    const queued: Draft = { ...d, via: 'staging' };
    setDraft(queued);
    staging.current = staging.current.then(async () => {
      const state = usePartitionsStore.getState();
      const partition = (state.preview ?? info).partitions.find((p) => p.index === d.index);
      let refused: string | null = null;
      if (partition && !sameExtent(partition, d.extent)) {
        const edit = resizeEdit(d.index, d.extent);
        refused = await stageEdit(info, edit, { replaceLast: continuesLastResize(state.staged, edit, partition) });
      }
      if (draftRef.current === queued) setDraft(null);
      setRefusal(refused && `Partition ${d.index} stays where it was: ${refused}`);
    });
  };

  const beginPointer = (e: PointerEvent<HTMLElement>, partition: Partition, handle: DragHandle) => {
    if (e.button !== 0 || !trackRef.current || draftRef.current?.via === 'pointer') return;
    const original = extentOf(partition);
    pointer.current = {
      index: partition.index,
      handle,
      pointerId: e.pointerId,
      originX: e.clientX,
      original,
      room: roomFor(drawn, partition),
      widthPx: trackRef.current.getBoundingClientRect().width,
      started: handle !== 'body',
    };
    if (handle !== 'body') {
      e.preventDefault(); // no text selection; the handle takes the focus itself
      e.currentTarget.focus();
      e.currentTarget.setPointerCapture(e.pointerId);
      onSelect(`p${partition.index}`);
      setDraft({ index: partition.index, handle, extent: original, via: 'pointer' });
    }
  };

  const movePointer = (e: PointerEvent<HTMLElement>) => {
    const drag = pointer.current;
    if (!drag || drag.pointerId !== e.pointerId) return;
    const dx = e.clientX - drag.originX;
    if (!drag.started) {
      if (Math.abs(dx) < MOVE_THRESHOLD_PX) return;
      drag.started = true;
      e.currentTarget.setPointerCapture(e.pointerId);
      onSelect(`p${drag.index}`);
    }
    const extent = dragTo(drag.handle, drag.original, drag.room, alignment, pixelsToSectors(dx, drag.widthPx, disk.totalSectors));
    const current = draftRef.current;
    if (!current || current.via !== 'pointer' || !sameExtent(current.extent, extent))
      setDraft({ index: drag.index, handle: drag.handle, extent, via: 'pointer' });
  };

  const endPointer = (e: PointerEvent<HTMLElement>) => {
    const drag = pointer.current;
    if (!drag || drag.pointerId !== e.pointerId) return;
    pointer.current = null;
    const current = draftRef.current;
    if (drag.started && current?.via === 'pointer') stage(current);
  };

  const cancelPointer = () => {
    if (!pointer.current) return;
    pointer.current = null;
    if (draftRef.current?.via === 'pointer') setDraft(null);
  };

  /** `partition` as drawn (mid-change), `standing` as it is after the staged changes. */
  const keyDown = (e: KeyboardEvent<HTMLElement>, partition: Partition, standing: Partition, handle: 'start' | 'end') => {
    const current = draftRef.current;
    if (e.key === 'Escape') {
      if (current?.via !== 'keyboard') return;
      e.preventDefault();
      window.clearTimeout(keyTimer.current);
      setDraft(null);
      return;
    }
    if (!isSliderKey(e.key) || current?.via === 'pointer') return;
    e.preventDefault();
    const extent = keyStep(handle, e.key, extentOf(partition), roomFor(drawn, partition), extentOf(standing), alignment, disk.totalSectors);
    const next: Draft = { index: partition.index, handle, extent, via: 'keyboard' };
    setDraft(next);
    onSelect(`p${partition.index}`);
    window.clearTimeout(keyTimer.current);
    keyTimer.current = window.setTimeout(() => draftRef.current === next && stage(next), KEY_PAUSE_MS);
  };

  const blur = () => {
    const current = draftRef.current;
    if (current?.via !== 'keyboard') return;
    window.clearTimeout(keyTimer.current);
    stage(current);
  };

  const handles = (segment: Segment, position: { left: string; right: string }) => {
    if (segment.kind !== 'partition') return null;
    const partition = segment.partition;
    // The partition as it stands (after the staged changes) is where a handle snaps back to.
    const standing = disk.partitions.find((p) => p.index === partition.index) ?? partition;
    const room = roomFor(drawn, partition);
    const size = formatBytes(partition.sectorCount * 512);
    return (['start', 'end'] as const).map((handle) => {
      const values = sliderValues(handle, extentOf(partition), room, extentOf(standing), alignment);
      const active = draft?.index === partition.index && draft.handle === handle;
      return (
        <div
          key={handle}
          role="slider"
          tabIndex={0}
          className={['drag-handle', `drag-handle-${handle}`, segment.inExtended ? 'in-extended' : '', active ? 'active' : '']
            .filter(Boolean)
            .join(' ')}
          style={{ left: handle === 'start' ? position.left : position.right }}
          aria-label={`${handle === 'start' ? 'Start' : 'End'} of partition ${partition.index}`}
          aria-orientation="horizontal"
          aria-valuemin={values.min}
          aria-valuemax={values.max}
          aria-valuenow={values.now}
          aria-valuetext={`${handle === 'start' ? 'Starts' : 'Ends'} at sector ${values.now}; partition ${partition.index} is ${size}`}
          data-testid={`handle-${handle}-p${partition.index}`}
          onPointerDown={(e) => beginPointer(e, partition, handle)}
          onPointerMove={movePointer}
          onPointerUp={endPointer}
          onPointerCancel={cancelPointer}
          onKeyDown={(e) => keyDown(e, partition, standing, handle)}
          onBlur={blur}
        />
      );
    });
  };

  const readout = draft && drawn.partitions.find((p) => p.index === draft.index);
  const readoutAt = draft
    ? draft.handle === 'start'
      ? draft.extent.startSector
      : draft.handle === 'end'
        ? draft.extent.startSector + draft.extent.sectorCount
        : draft.extent.startSector + draft.extent.sectorCount / 2
    : 0;
  const fraction = disk.totalSectors > 0 ? Math.min(1, Math.max(0, readoutAt / disk.totalSectors)) : 0;

  return (
    <>
      <DiskBar
        disk={drawn}
        label={label}
        selected={selected}
        onSelect={(segment) => onSelect(segmentKey(segment))}
        testId="editor-diskbar"
        className={`editable${draft?.via === 'pointer' ? ' dragging' : ''}`}
        trackRef={trackRef}
        segmentProps={(segment) =>
          segment.kind === 'partition'
            ? {
                onPointerDown: (e) => beginPointer(e, segment.partition, 'body'),
                onPointerMove: movePointer,
                onPointerUp: endPointer,
                onPointerCancel: cancelPointer,
              }
            : {}
        }
        afterSegment={handles}
        overlay={
          readout && (
            <div
              className="drag-readout"
              style={{ left: `${fraction * 100}%`, transform: `translate(-${fraction * 100}%, -100%)` }}
              aria-hidden="true"
              data-testid="drag-readout"
            >
              <strong>Partition {readout.index}</strong> sectors {readout.startSector}–{lastSectorOf(readout)} ·{' '}
              {formatBytes(readout.sectorCount * 512)}
            </div>
          )
        }
        hint={{
          id: hintId,
          content: `Drag a partition’s edges to resize it, its middle to move it: they snap to ${alignmentText(alignment)}.`,
        }}
      />
      {refusal && (
        <p className="field-error bar-error" role="alert" data-testid="drag-error">
          {refusal}
        </p>
      )}
    </>
  );
}
