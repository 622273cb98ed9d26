import { useState } from 'react';
import type { DirEntry } from '../../../../shared/fs/types';
import { hostBridge } from '../../host';
import { checkEntryName, existingFiles, extractEntry, joinPath, makeFolder, removeEntry, renameEntry } from '../../stores/files';
import { Dialog } from '../common/Dialog';
import { Field } from '../common/Field';
import { dirname, formatBytes } from '../common/format';
import { useForm } from '../common/useForm';

/** The file browser's small forms: a new folder, a rename in place, extract to a host folder, delete after asking. */

/** A refusal of the services is the name's (or the folder's) problem: it is shown at that field. */
const atTheField =
  <K extends string>(key: K) =>
  () =>
    key;

export function NewFolderRow({ onDone }: { onDone: () => void }) {
  const form = useForm({
    initial: { name: '' },
    validate: (v) => ({ name: checkEntryName(v.name) }),
    submit: async (v) => {
      await makeFolder(v.name);
      onDone();
    },
    fieldOf: atTheField('name'),
  });
  return (
    <form className="inline-form" {...form.formProps}>
      <Field label="New folder name" error={form.errorOf('name')}>
        {(control) => (
          <input
            {...control}
            {...form.bind('name')}
            className="input"
            autoFocus
            spellCheck={false}
            onKeyDown={(e) => e.key === 'Escape' && onDone()}
          />
        )}
      </Field>
      <button type="submit" className="button primary small" disabled={form.busy}>
        Make folder
      </button>
      <button type="button" className="button small" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

export function RenameField({ entry, onDone }: { entry: DirEntry; onDone: () => void }) {
  const form = useForm({
    initial: { name: entry.name },
    validate: (v) => ({ name: v.name === entry.name ? null : checkEntryName(v.name) }),
    submit: async (v) => {
      if (v.name !== entry.name) await renameEntry(entry.name, v.name);
      onDone();
    },
    fieldOf: atTheField('name'),
  });
  return (
    <form className="inline-form compact" {...form.formProps}>
      <Field label={`New name for ${entry.name}`} error={form.errorOf('name')} className="visually-hidden-label">
        {(control) => (
          <input
            {...control}
            {...form.bind('name')}
            className="input"
            autoFocus
            spellCheck={false}
            onKeyDown={(e) => e.key === 'Escape' && onDone()}
          />
        )}
      </Field>
      <button type="submit" className="button small primary" disabled={form.busy}>
        Rename
      </button>
      <button type="button" className="button small" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

export function ExtractDialog({ entry, imagePath, onClose }: { entry: DirEntry; imagePath: string; onClose: () => void }) {
  const host = hostBridge();
  /** Host files the copy into `out` would replace (issue 13): named, and replaced only when the person says so. */
  const [existing, setExisting] = useState<{ out: string; paths: string[]; count: number } | null>(null);
  const form = useForm({
    initial: { out: dirname(imagePath) },
    validate: (v) => ({ out: v.out.trim() === '' ? 'Type the host folder to copy it into.' : null }),
    submit: async (v) => {
      const out = v.out.trim();
      const asked = existing?.out === out;
      try {
        await extractEntry(entry.name, out, asked);
      } catch (error) {
        const there = asked ? null : existingFiles(error);
        if (!there) throw error;
        setExisting({ out, ...there });
        return;
      }
      onClose();
    },
    fieldOf: atTheField('out'),
  });
  // The question stands for the folder it was asked about; another folder is asked about again.
  const replace = existing?.out === form.values.out.trim() ? existing : null;
  return (
    <Dialog
      title={`Extract ${entry.name}`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="extract-form" className={`button ${replace ? 'danger' : 'primary'}`} disabled={form.busy}>
            {form.busy ? 'Extracting…' : replace ? `Replace ${replace.count === 1 ? 'it' : `${replace.count} files`}` : 'Extract'}
          </button>
        </>
      }
    >
      <form id="extract-form" {...form.formProps}>
        <Field
          label="Into the folder"
          error={form.errorOf('out')}
          hint={`${entry.type === 'directory' ? 'The folder and everything in it' : 'The file'} is copied there under its own name.`}
        >
          {(control) => (
            <div className="input-row">
              <input {...control} {...form.bind('out')} className="input mono" spellCheck={false} />
              {host && (
                <button
                  type="button"
                  className="button"
                  onClick={() =>
                    void host.choosePath({ mode: 'folder', defaultPath: form.values.out }).then((p) => p && form.set('out', p))
                  }
                >
                  Browse…
                </button>
              )}
            </div>
          )}
        </Field>
        {replace && (
          <p className="callout warn" role="alert" data-testid="extract-replace">
            {replace.count === 1 ? 'This is already there' : `${replace.count} files are already there`}:{' '}
            {replace.paths.slice(0, 3).join(', ')}
            {replace.count > 3 ? ' …' : ''}. Nothing was copied. Replace {replace.count === 1 ? 'it' : 'them'} with the copy from the image?
            (A folder that is already there is kept and added to.)
          </p>
        )}
      </form>
    </Dialog>
  );
}

export function DeleteDialog({ entry, cwd, onClose }: { entry: DirEntry; cwd: string; onClose: () => void }) {
  const folder = entry.type === 'directory';
  const form = useForm({
    initial: {},
    submit: async () => {
      await removeEntry(entry);
      onClose();
    },
  });
  return (
    <Dialog
      title={`Delete ${entry.name}?`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} data-autofocus>
            Cancel
          </button>
          <button type="button" className="button danger" disabled={form.busy} onClick={() => void form.handleSubmit()}>
            Delete
          </button>
        </>
      }
    >
      <p>
        {folder
          ? `The folder ${joinPath(cwd, entry.name)} and everything in it will be deleted from the image.`
          : `${joinPath(cwd, entry.name)} (${formatBytes(entry.sizeBytes)}) will be deleted from the image.`}{' '}
        This cannot be undone.
      </p>
    </Dialog>
  );
}
