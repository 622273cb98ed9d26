import type { ImageInfo } from '../../../../shared/api/contract';
import { FS_TYPES, type FsType } from '../../../../shared/fs/types';
import { useActivityStore } from '../../stores/activity';
import { formatImageVolume } from '../../stores/images';
import { Dialog } from '../common/Dialog';
import { Field } from '../common/Field';
import { basename, formatBytes } from '../common/format';
import { jobFraction, ProgressBar } from '../common/ProgressBar';
import { useForm } from '../common/useForm';
import { volumeLabel, type Volume } from '../image/volumes';
import { FS_LABELS, planFilesystem, suggestedFat } from './fs-plan';

/** Format a volume: checked as you type by the formatter's own planner; what is lost is said first. */
export function FormatDialog({ info, volume, onClose }: { info: ImageInfo; volume: Volume; onClose: () => void }) {
  const form = useForm({
    initial: () => ({
      fs: volume.filesystem?.type ?? suggestedFat(volume.sizeBytes, volume.startSector),
      label: volume.filesystem?.label ?? '',
    }),
    live: true,
    validate: (v) => {
      const plan = planFilesystem(volume.sizeBytes, v, volume.startSector);
      // A refusal of the label belongs at the label; any other, at the filesystem.
      return plan.ok ? {} : /\blabel\b/i.test(plan.text) ? { label: plan.text } : { fs: plan.text };
    },
    submit: async (v) => {
      await formatImageVolume(info.path, volume, v.fs, v.label);
      onClose();
    },
  });
  const { fs, label } = form.values;
  const plan = planFilesystem(volume.sizeBytes, { fs, label }, volume.startSector);
  const jobTitle = `Format ${volume.partition === null ? basename(info.path) : `partition ${volume.partition} of ${basename(info.path)}`} as ${fs.toUpperCase()}`;
  const job = useActivityStore((s) => s.jobs.findLast((j) => j.title === jobTitle && j.state === 'running'));

  return (
    <Dialog
      title={`Format ${volume.name.toLowerCase()}`}
      onClose={onClose}
      testId="format-dialog"
      description={`${volumeLabel(volume)} of ${basename(info.path)}.`}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={form.busy}>
            Cancel
          </button>
          <button type="submit" form="format-form" className="button danger" disabled={form.busy || !plan.ok}>
            {form.busy ? 'Formatting…' : `Format as ${FS_LABELS[fs]}`}
          </button>
        </>
      }
    >
      <form id="format-form" {...form.formProps} className="form-grid">
        <Field label="Filesystem" error={form.errorOf('fs')} hint={plan.ok ? plan.text : undefined} testId="format-fs-field">
          {(control) => (
            <select {...control} className="input" value={fs} onChange={(e) => form.set('fs', e.target.value as FsType)}>
              {FS_TYPES.map((t) => (
                <option key={t} value={t}>
                  {FS_LABELS[t]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Label"
          error={form.errorOf('label')}
          hint={fs === 'ext2' ? 'Up to 16 characters.' : 'Up to 11 characters, stored in capitals.'}
        >
          {(control) => <input {...control} {...form.bind('label')} className="input" spellCheck={false} />}
        </Field>
      </form>
      {volume.filesystem && (
        <p className="callout warn" data-testid="format-loss">
          Everything on this {volume.filesystem.type.toUpperCase()} volume is lost: {formatBytes(volume.filesystem.usedBytes)} in use.
        </p>
      )}
      {form.busy && <ProgressBar fraction={job ? jobFraction(job) : null} label="Formatting" />}
      {form.formError && (
        <p className="callout error" role="alert">
          {form.formError}
        </p>
      )}
    </Dialog>
  );
}
