import { useState, type FormEvent } from 'react';
import type { DirEntry } from '../../../../shared/fs/types';
import { hostBridge } from '../../host';
import { existingFiles, extractEntry, joinPath, makeFolder, removeEntry, renameEntry } from '../../stores/files';
import { Dialog } from '../common/Dialog';
import { errorText } from '../common/errors';
import { Field } from '../common/Field';
import { dirname, formatBytes } from '../common/format';

/** The file browser's small forms: a new folder, a rename in place, extract to a host folder, delete after asking. */

export function NewFolderRow({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      await makeFolder(name);
      onDone();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} noValidate>
      <Field label="New folder name" error={error}>
        {(control) => <input {...control} className="input" value={name} onChange={(e) => setName(e.target.value)} autoFocus spellCheck={false} onKeyDown={(e) => e.key === 'Escape' && onDone()} />}
      </Field>
      <button type="submit" className="button primary small" disabled={busy}>
        Make folder
      </button>
      <button type="button" className="button small" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

export function RenameField({ entry, onDone }: { entry: DirEntry; onDone: () => void }) {
  const [name, setName] = useState(entry.name);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (name === entry.name) return onDone();
    try {
      await renameEntry(entry.name, name);
      onDone();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <form className="inline-form compact" onSubmit={(e) => void submit(e)} noValidate>
      <Field label={`New name for ${entry.name}`} error={error} className="visually-hidden-label">
        {(control) => <input {...control} className="input" value={name} onChange={(e) => setName(e.target.value)} autoFocus spellCheck={false} onKeyDown={(e) => e.key === 'Escape' && onDone()} />}
      </Field>
      <button type="submit" className="button small primary">
        Rename
      </button>
      <button type="button" className="button small" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

export function ExtractDialog({ entry, imagePath, onClose }: { entry: DirEntry; imagePath: string; onClose: () => void }) {
  const [out, setOut] = useState(dirname(imagePath));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Host files the copy into `out` would replace (issue 13): named, and replaced only when the person says so. */
  const [existing, setExisting] = useState<{ out: string; paths: string[]; count: number } | null>(null);
  const replace = existing?.out === out ? existing : null;
  const host = hostBridge();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      await extractEntry(entry.name, out, replace !== null);
      onClose();
    } catch (e) {
      const there = replace ? null : existingFiles(e);
      setExisting(there ? { out, ...there } : null);
      setError(there ? null : errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={`Extract ${entry.name}`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="extract-form" className={`button ${replace ? 'danger' : 'primary'}`} disabled={busy}>
            {busy ? 'Extracting…' : replace ? `Replace ${replace.count === 1 ? 'it' : `${replace.count} files`}` : 'Extract'}
          </button>
        </>
      }
    >
      <form id="extract-form" onSubmit={(e) => void submit(e)} noValidate>
        <Field label="Into the folder" error={error} hint={`${entry.type === 'directory' ? 'The folder and everything in it' : 'The file'} is copied there under its own name.`}>
          {(control) => (
            <div className="input-row">
              <input {...control} className="input mono" value={out} onChange={(e) => setOut(e.target.value)} spellCheck={false} autoFocus />
              {host && (
                <button type="button" className="button" onClick={() => void host.choosePath({ mode: 'folder', defaultPath: out }).then((p) => p && setOut(p))}>
                  Browse…
                </button>
              )}
            </div>
          )}
        </Field>
        {replace && (
          <p className="callout warn" role="alert" data-testid="extract-replace">
            {replace.count === 1 ? 'This is already there' : `${replace.count} files are already there`}: {replace.paths.slice(0, 3).join(', ')}
            {replace.count > 3 ? ' …' : ''}. Nothing was copied. Replace {replace.count === 1 ? 'it' : 'them'} with the copy from the image? (A folder that is already there is
            kept and added to.)
          </p>
        )}
      </form>
    </Dialog>
  );
}

export function DeleteDialog({ entry, cwd, onClose }: { entry: DirEntry; cwd: string; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const folder = entry.type === 'directory';
  return (
    <Dialog
      title={`Delete ${entry.name}?`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} autoFocus>
            Cancel
          </button>
          <button
            type="button"
            className="button danger"
            disabled={busy}
            onClick={() => {
              setBusy(true);
              void removeEntry(entry).finally(onClose);
            }}
          >
            Delete
          </button>
        </>
      }
    >
      <p>
        {folder ? `The folder ${joinPath(cwd, entry.name)} and everything in it will be deleted from the image.` : `${joinPath(cwd, entry.name)} (${formatBytes(entry.sizeBytes)}) will be deleted from the image.`}{' '}
        This cannot be undone.
      </p>
    </Dialog>
  );
}
