import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { ImageInfo } from '../../../../shared/api/contract';
import { embeddingNote } from '../../../../shared/boot/grub2-room';
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
import { diskSegments } from '../image/segments';
import { describeEdit, lossesOf } from './edits';
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
    useShallow((s) => ({ newTable: s.newTable, alignmentSectors: s.alignmentSectors, staged: s.staged, preview: s.preview, checking: s.checking, applying: s.applying, applyError: s.applyError })),
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [tableError, setTableError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);

  useEffect(() => editImage(info), [info]);

  const table = tableKind(info, state);
  const shown = state.preview ? { ...state.preview, partitions: state.preview.partitions.map((p) => ({ ...p, filesystem: fsOf(info, p) })) } : info;
  const segments = diskSegments(shown);
  const segment = segments.find((s) => segmentKey(s) === selected) ?? null;

  if (!table) {
    return (
      <div className="partition-editor">
        <p>This image has no partition table{info.filesystem ? `: it holds one ${info.filesystem.type.toUpperCase()} filesystem on the whole disk` : ''}.</p>
        {info.filesystem && (
          <p className="callout warn">
            A partition table takes the first sector, which now holds the {info.filesystem.type.toUpperCase()} boot sector: the filesystem and its{' '}
            {formatBytes(info.filesystem.usedBytes)} in use would be lost.
          </p>
        )}
        <div className="button-row">
          <button type="button" className="button primary" onClick={() => void chooseNewTable(info, { table: 'mbr', fresh: false }).then(setTableError)}>
            Create an MBR table
          </button>
          <button type="button" className="button" onClick={() => void chooseNewTable(info, { table: 'gpt', fresh: false }).then(setTableError)}>
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
  const grubNote = embeddingNote(shown);

  return (
    <div className="partition-editor" data-testid="partition-editor">
      <div className="editor-head">
        <p>
          <strong>{table.toUpperCase()}</strong> partition table{state.newTable ? ' (new, not written yet)' : ''} · {shown.partitions.length} partition
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
      {grubNote && (
        <p className={`callout ${grubNote.severity === 'warning' ? 'warn' : 'info'}`} data-testid="grub-gap-note">
          <strong>{grubNote.title}.</strong> {grubNote.message}
        </p>
      )}
      <div className="editor-columns">
        <div className="editor-form">
          {!segment ? (
            <p className="muted">Select a partition or free space in the bar above (Tab to it, Enter to select).</p>
          ) : segment.kind === 'free' ? (
            <AddForm key={segmentKey(segment)} info={info} table={table} segment={segment} alignment={state.alignmentSectors} onStaged={() => setSelected(null)} />
          ) : segment.kind === 'partition' ? (
            <PartitionForm
              key={`${segmentKey(segment)}-${state.staged.length}-${segment.startSector}-${segment.sectorCount}`}
              info={info}
              table={table}
              partition={segment.partition}
              onDeleted={() => setSelected(null)}
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
            <button type="button" className="button small" onClick={() => void undoLastEdit(info)} disabled={state.staged.length === 0 || state.applying}>
              Undo last
            </button>
            <button type="button" className="button small" onClick={discardEdits} disabled={(state.staged.length === 0 && !state.newTable) || state.applying}>
              Discard all
            </button>
            <button type="button" className="button primary small" onClick={() => setConfirming(true)} disabled={(state.staged.length === 0 && !state.newTable) || state.applying || state.checking}>
              Apply changes…
            </button>
          </div>
          {state.applyError && (
            <p className="callout error" role="alert">
              {state.applyError}
            </p>
          )}
        </section>
      </div>
      {confirming && (
        <Dialog
          title="Apply the partition changes?"
          onClose={() => setConfirming(false)}
          testId="apply-dialog"
          footer={
            <>
              <button type="button" className="button" onClick={() => setConfirming(false)} autoFocus>
                Cancel
              </button>
              <button
                type="button"
                className={`button ${losses.some((l) => l.severity === 'lost') ? 'danger' : 'primary'}`}
                disabled={state.applying}
                onClick={() => void applyEdits(info).then((ok) => ok && (setConfirming(false), setSelected(null)))}
              >
                {state.applying ? 'Writing…' : 'Write the table'}
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

function fsOf(info: ImageInfo, p: { startSector: number; sectorCount: number }) {
  return info.partitions.find((q) => q.startSector === p.startSector && q.sectorCount === p.sectorCount)?.filesystem ?? null;
}
