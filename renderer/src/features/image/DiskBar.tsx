import { Fragment, type ButtonHTMLAttributes, type ReactNode, type Ref } from 'react';
import type { DiskInfo } from '../../../../shared/disk/disk-info';
import { formatBytes } from '../common/format';
import { diskSegments, fractionOf, type Partition, type Segment } from './segments';

export function segmentKey(segment: Segment): string {
  if (segment.kind === 'partition') return `p${segment.partition.index}`;
  if (segment.kind === 'free') return `f${segment.startSector}`;
  return 'whole';
}

function fsName(partition: Partition): string | null {
  return partition.filesystem ? partition.filesystem.type.toUpperCase() : null;
}

export function describeSegment(segment: Segment, disk: DiskInfo & { filesystem?: { type: string } | null }): string {
  const range = `sectors ${segment.startSector}–${segment.startSector + segment.sectorCount - 1}`;
  const size = formatBytes(segment.sectorCount * 512);
  if (segment.kind === 'whole') return `Whole disk: ${disk.filesystem ? disk.filesystem.type.toUpperCase() : 'no filesystem'}, ${size}`;
  if (segment.kind === 'free') return `Free space${segment.inExtended ? ' in the extended partition' : ''}: ${size}, ${range}`;
  const p = segment.partition;
  const fs = fsName(p);
  return `Partition ${p.index}${p.kind === 'logical' ? ' (logical)' : ''}: ${p.typeName}${fs ? `, ${fs}` : ''}, ${size}, ${range}${p.bootable ? ', bootable' : ''}`;
}

/**
 * The disk drawn to scale as a bar: each partition a block labelled with its number, type and
 * size; free space as its own block. Each block is a button (select it); the extended
 * partition's span is drawn under the bar. An editor can add to each block (`segmentProps`:
 * pointer handlers; `afterSegment`: elements drawn on the track after it, such as drag handles),
 * float something over the bar (`overlay`) and put a line of text in the scale row (`hint`).
 */
export function DiskBar({
  disk,
  label,
  selected,
  onSelect,
  testId,
  segmentProps,
  afterSegment,
  trackRef,
  overlay,
  hint,
  className,
}: {
  disk: DiskInfo & { partitions: Partition[]; filesystem?: { type: string } | null };
  label: string;
  selected?: string | null;
  onSelect?: (segment: Segment) => void;
  testId?: string;
  segmentProps?: (segment: Segment) => ButtonHTMLAttributes<HTMLButtonElement>;
  afterSegment?: (segment: Segment, position: { left: string; right: string }) => ReactNode;
  trackRef?: Ref<HTMLDivElement>;
  overlay?: ReactNode;
  hint?: { id: string; content: ReactNode };
  className?: string;
}) {
  const segments = diskSegments(disk);
  const extended = disk.partitions.find((p) => p.kind === 'extended');
  const pct = (sector: number) => `${(fractionOf(disk, sector) * 100).toFixed(4)}%`;
  return (
    <div
      className={['diskbar', extended ? 'has-extended' : '', className ?? ''].filter(Boolean).join(' ')}
      role="group"
      aria-label={label}
      aria-describedby={hint?.id}
      data-testid={testId}
    >
      <div className="diskbar-track" ref={trackRef}>
        {segments.map((segment) => {
          const key = segmentKey(segment);
          const fs =
            segment.kind === 'partition'
              ? fsName(segment.partition)
              : segment.kind === 'whole'
                ? (disk.filesystem?.type.toUpperCase() ?? null)
                : null;
          const segmentClass = [
            'segment',
            `segment-${segment.kind}`,
            segment.kind === 'partition' ? `fs-${segment.partition.filesystem?.type ?? 'none'}` : '',
            segment.kind === 'whole' ? `fs-${disk.filesystem?.type ?? 'none'}` : '',
            segment.kind !== 'whole' && segment.inExtended ? 'in-extended' : '',
            selected === key ? 'selected' : '',
          ]
            .filter(Boolean)
            .join(' ');
          const title =
            segment.kind === 'partition'
              ? `${segment.partition.index} · ${fs ?? segment.partition.typeName}`
              : segment.kind === 'free'
                ? 'Free'
                : (fs ?? 'Whole disk');
          return (
            <Fragment key={key}>
              <button
                type="button"
                {...segmentProps?.(segment)}
                className={segmentClass}
                style={{ left: pct(segment.startSector), width: pct(segment.sectorCount) }}
                aria-pressed={onSelect ? selected === key : undefined}
                title={describeSegment(segment, disk)}
                onClick={() => onSelect?.(segment)}
                data-testid={`segment-${key}`}
                tabIndex={onSelect ? 0 : -1}
              >
                <span className="segment-title">{title}</span>
                <span className="segment-size">{formatBytes(segment.sectorCount * 512)}</span>
                <span className="visually-hidden"> — {describeSegment(segment, disk)}</span>
              </button>
              {afterSegment?.(segment, { left: pct(segment.startSector), right: pct(segment.startSector + segment.sectorCount) })}
            </Fragment>
          );
        })}
      </div>
      {extended && (
        <div className="diskbar-extended" style={{ left: pct(extended.startSector), width: pct(extended.sectorCount) }} aria-hidden="true">
          extended {extended.index}
        </div>
      )}
      {overlay}
      <div className="diskbar-scale">
        <span aria-hidden="true">0</span>
        {hint && (
          <span id={hint.id} className="diskbar-hint">
            {hint.content}
          </span>
        )}
        <span aria-hidden="true">{formatBytes(disk.sizeBytes)}</span>
      </div>
    </div>
  );
}
