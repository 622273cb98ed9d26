import { useEffect, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { ImageInfo } from '../../../../shared/api/contract';
import { LEGACY_ALIGNMENT_SECTORS, MODERN_ALIGNMENT_SECTORS } from '../../../../shared/disk/partition-spec';
import {
  applyEdits,
  chooseNewTable,
  discardEdits,
  editImage,
  setAlignment,
  tableKind,
  undoLastEdit,
  usePartitionsStore,
} from '../../stores/partitions';
import { Dialog } from '../common/Dialog';
import { formatBytes } from '../common/format';
import { segmentKey } from '../image/DiskBar';
import { diskSegments, type Segment } from '../image/segments';
import { describeEdit, lossesOf } from './edits';
import { grubNote } from './grub-note';
import { PartitionBar } from './PartitionBar';
import { AddForm, PartitionForm } from './PartitionForms';

/**
 * The partition editor: the disk to scale (partitions resized and moved by dragging, see
 * PartitionBar), a form for the selected partition or free space (numbers typed; both checked by
 * a dry run with every other staged change), warnings about the layout — GRUB 2's room included —
 * the list of staged changes, and Apply — after a confirmation that says what will be lost.
 */
export function PartitionEditor({ info }: { info: ImageInfo }) {
  const state = usePartitionsStore(
    useShallow((s) => ({
      newTable: s.newTable,
      alignmentSectors: s.alignmentSectors,
      staged: s.staged,
      preview: s.preview,
      checking: s.checking,
      applying: s.applying,
      applyError: s.applyError,
      written: s.written,
    })),
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [tableError, setTableError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const notice = useRef<HTMLParagraphElement>(null);
  const editorRef = useRef<HTMLDivElement>(null);
  // After a staged change the selection stays on what was changed (the new partition, the free
  // space a deleted one left), and the keyboard goes back to it in the bar.
  const [focusKey, setFocusKey] = useState<string | null>(null);
  useEffect(() => {
    if (!focusKey) return;
    editorRef.current?.querySelector<HTMLElement>(`[data-testid="segment-${focusKey}"]`)?.focus();
  }, [focusKey]);
  const selectAfterStaging = (find: (segments: ReturnType<typeof diskSegments>) => Segment | undefined) => {
    const { preview } = usePartitionsStore.getState();
    const next = find(
      diskSegments(preview ? { ...preview, partitions: preview.partitions.map((p) => ({ ...p, filesystem: null })) } : info),
    );
    const key = next ? segmentKey(next) : null;
    setSelected(key);
    setFocusKey(key);
  };

  useEffect(() => editImage(info), [info]);

  const table = tableKind(info, state);
  const shown = state.preview
    ? { ...state.preview, partitions: state.preview.partitions.map((p) => ({ ...p, filesystem: fsOf(info, p, !!state.newTable?.fresh) })) }
    : info;
  const segments = diskSegments(shown);
  const segment = segments.find((s) => segmentKey(s) === selected) ?? null;

  if (!table) {
    return (
      <div className="partition-editor">
        <p>
          This image has no partition table
          {info.filesystem ? `: it holds one ${info.filesystem.type.toUpperCase()} filesystem on the whole disk` : ''}.
        </p>
        {info.filesystem && (
          <p className="callout warn">
            A partition table takes the first sector, which now holds the {info.filesystem.type.toUpperCase()} boot sector: the filesystem
            and its {formatBytes(info.filesystem.usedBytes)} in use would be lost.
          </p>
        )}
        <div className="button-row">
          <button
            type="button"
            className="button primary"
            onClick={() => void chooseNewTable(info, { table: 'mbr', fresh: false }).then(setTableError)}
          >
            Create an MBR table
          </button>
          <button
            type="button"
            className="button"
            onClick={() => void chooseNewTable(info, { table: 'gpt', fresh: false }).then(setTableError)}
          >
            Create a GPT
          </button>
        </div>
        {tableError && (
          <p className="callout error" role="alert">
            {tableError}
          </p>
        )}
      </div>
    );
  }

  const losses = state.preview ? lossesOf(info, state.preview) : [];
  const destructive = losses.some((l) => l.destroys);
  const gapNote = grubNote(info, shown);

  return (
    <div className="partition-editor" data-testid="partition-editor" ref={editorRef}>
      <div className="editor-head">
        <p>
          <strong>{table.toUpperCase()}</strong> partition table{state.newTable ? ' (new, not written yet)' : ''} ·{' '}
          {shown.partitions.length} partition
          {shown.partitions.length === 1 ? '' : 's'}
        </p>
        <label className="inline-field">
          <span>Align partitions to</span>
          <select className="input" value={state.alignmentSectors} onChange={(e) => setAlignment(Number(e.target.value))}>
            <option value={MODERN_ALIGNMENT_SECTORS}>2048 sectors (1 MiB)</option>
            <option value={LEGACY_ALIGNMENT_SECTORS}>63 sectors (one track)</option>
          </select>
        </label>
      </div>
      <PartitionBar
        info={info}
        disk={shown}
        alignment={state.alignmentSectors}
        label={`Partitions of ${info.path}${state.preview ? ' after the staged changes' : ''}, drawn to scale. Select a partition or free space.`}
        selected={selected}
        onSelect={setSelected}
      />
      {state.preview && state.preview.warnings.length > 0 && (
        <ul className="callout warn" aria-label="Warnings about the new layout">
          {state.preview.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {gapNote && (
        <p className={`callout ${gapNote.severity === 'warning' ? 'warn' : 'info'}`} data-testid="grub-gap-note">
          <strong>{gapNote.title}.</strong> {gapNote.message}
        </p>
      )}
      <div className="editor-columns">
        <div className="editor-form">
          {!segment ? (
            <p className="muted">Select a partition or free space in the bar above (Tab to it, Enter to select).</p>
          ) : segment.kind === 'free' ? (
            <AddForm
              key={segmentKey(segment)}
              info={info}
              table={table}
              segment={segment}
              alignment={state.alignmentSectors}
              onStaged={(edit) =>
                selectAfterStaging((segments) => segments.find((s) => s.kind === 'partition' && s.startSector === edit.startSector))
              }
            />
          ) : segment.kind === 'partition' ? (
            <PartitionForm
              key={segmentKey(segment)}
              info={info}
              table={table}
              partition={segment.partition}
              onDeleted={() => {
                const at = segment.startSector;
                selectAfterStaging((segments) =>
                  segments.find((s) => s.kind === 'free' && s.startSector <= at && at < s.startSector + s.sectorCount),
                );
              }}
            />
          ) : null}
        </div>
        <section className="staged" aria-labelledby="staged-title" data-testid="staged-changes">
          <h3 id="staged-title" className="section-title">
            Staged changes
          </h3>
          {state.staged.length === 0 && !state.newTable ? (
            <p className="muted">None. Changes are written only when you apply them, all at once.</p>
          ) : (
            <ol>
              {state.newTable && <li>New {state.newTable.table.toUpperCase()} table</li>}
              {state.staged.map((edit, i) => (
                <li key={i}>{describeEdit(edit, table)}</li>
              ))}
            </ol>
          )}
          <div className="button-row">
            <button
              type="button"
              className="button small"
              onClick={() => void undoLastEdit(info)}
              disabled={state.staged.length === 0 || state.applying}
            >
              Undo last
            </button>
            <button
              type="button"
              className="button small"
              onClick={discardEdits}
              disabled={(state.staged.length === 0 && !state.newTable) || state.applying}
            >
              Discard all
            </button>
            <button
              type="button"
              className="button primary small"
              onClick={() => setConfirming(true)}
              disabled={(state.staged.length === 0 && !state.newTable) || state.applying || state.checking}
            >
              Apply changes…
            </button>
          </div>
          {state.applyError && (
            <p className="callout error" role="alert">
              {state.applyError}
            </p>
          )}
          {state.written && (
            <p className="callout ok" role="status" tabIndex={-1} ref={notice} data-testid="table-written">
              {state.written}
            </p>
          )}
        </section>
      </div>
      {confirming && (
        <Dialog
          title="Apply the partition changes?"
          onClose={() => setConfirming(false)}
          testId="apply-dialog"
          // Written: the notice that says so takes the focus (Apply is disabled by then).
          returnFocus={() => notice.current}
          footer={
            <>
              <button type="button" className="button" onClick={() => setConfirming(false)} data-autofocus>
                Cancel
              </button>
              <button
                type="button"
                // Data lost or cut short makes it a destructive action, and it looks like one.
                className={`button ${destructive ? 'danger' : 'primary'}`}
                data-testid="write-table"
                disabled={state.applying}
                onClick={() => void applyEdits(info).then((ok) => ok && (setConfirming(false), setSelected(null)))}
              >
                {state.applying ? 'Writing…' : destructive ? 'Write the table and lose data' : 'Write the table'}
              </button>
            </>
          }
        >
          <p>These changes are written to {info.path} in one step:</p>
          <ol>
            {state.newTable && <li>New {state.newTable.table.toUpperCase()} table</li>}
            {state.staged.map((edit, i) => (
              <li key={i}>{describeEdit(edit, table)}</li>
            ))}
          </ol>
          {losses.length > 0 ? (
            <>
              <h3 className="section-title">What is lost</h3>
              <ul className="callout warn" data-testid="losses">
                {losses.map((l) => (
                  <li key={l.partition}>{l.text}</li>
                ))}
              </ul>
            </>
          ) : (
            <p className="muted" data-testid="losses-none">
              No existing partition is removed, moved or resized: no data is lost.
            </p>
          )}
          {state.applyError && (
            <p className="callout error" role="alert">
              {state.applyError}
            </p>
          )}
        </Dialog>
      )}
    </div>
  );
}

/**
 * A partition's filesystem in the staged layout, for its colour and label: a partition that
 * keeps its first sector keeps the filesystem that starts there (a resize leaves the data where
 * it is), unless the whole table is made afresh. A moved or new one has none yet.
 */
function fsOf(info: ImageInfo, p: { startSector: number; kind?: string }, fresh: boolean) {
  if (fresh || p.kind === 'extended') return null;
  return info.partitions.find((q) => q.startSector === p.startSector && q.kind !== 'extended')?.filesystem ?? null;
}
