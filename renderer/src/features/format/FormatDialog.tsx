import { useState, type FormEvent } from 'react';
import type { ImageInfo } from '../../../../shared/api/contract';
import { FS_TYPES, type FsType } from '../../../../shared/fs/types';
import { useActivityStore } from '../../stores/activity';
import { formatImageVolume } from '../../stores/images';
import { errorText } from '../common/errors';
import { Dialog } from '../common/Dialog';
import { Field } from '../common/Field';
import { basename, formatBytes } from '../common/format';
import { jobFraction, ProgressBar } from '../common/ProgressBar';
import { volumeLabel, type Volume } from '../image/volumes';
import { FS_LABELS, planFilesystem, suggestedFat } from './fs-plan';

/** Format a volume: checked as you type by the formatter's own planner; what is lost is said first. */
export function FormatDialog({ info, volume, onClose }: { info: ImageInfo; volume: Volume; onClose: () => void }) {
  const [fs, setFs] = useState<FsType>(volume.filesystem?.type ?? suggestedFat(volume.sizeBytes, volume.startSector));
  const [label, setLabel] = useState(volume.filesystem?.label ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const jobTitle = `Format ${volume.partition === null ? basename(info.path) : `partition ${volume.partition} of ${basename(info.path)}`} as ${fs.toUpperCase()}`;
  const job = useActivityStore((s) => s.jobs.findLast((j) => j.title === jobTitle && j.state === 'running'));
  const plan = planFilesystem(volume.sizeBytes, { fs, label }, volume.startSector);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!plan.ok) return;
    setBusy(true);
    setError(null);
    try {
      await formatImageVolume(info.path, volume.partition, fs, label);
      onClose();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={`Format ${volume.name.toLowerCase()}`}
      onClose={onClose}
      testId="format-dialog"
      description={`${volumeLabel(volume)} of ${basename(info.path)}.`}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" form="format-form" className="button danger" disabled={busy || !plan.ok}>
            {busy ? 'Formatting…' : `Format as ${FS_LABELS[fs]}`}
          </button>
        </>
      }
    >
      <form id="format-form" onSubmit={(e) => void submit(e)} noValidate className="form-grid">
        <Field label="Filesystem" error={plan.ok ? null : plan.text} hint={plan.ok ? plan.text : undefined}>
          {(control) => (
            <select {...control} className="input" value={fs} onChange={(e) => setFs(e.target.value as FsType)}>
              {FS_TYPES.map((t) => (
                <option key={t} value={t}>
                  {FS_LABELS[t]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Label" hint={fs === 'ext2' ? 'Up to 16 characters.' : 'Up to 11 characters, stored in capitals.'}>
          {(control) => <input {...control} className="input" value={label} onChange={(e) => setLabel(e.target.value)} spellCheck={false} />}
        </Field>
      </form>
      {volume.filesystem && (
        <p className="callout warn" data-testid="format-loss">
          Everything on this {volume.filesystem.type.toUpperCase()} volume is lost: {formatBytes(volume.filesystem.usedBytes)} in use.
        </p>
      )}
      {busy && <ProgressBar fraction={job ? jobFraction(job) : null} label="Formatting" />}
      {error && (
        <p className="callout error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
