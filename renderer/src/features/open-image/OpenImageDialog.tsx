import { useState, type FormEvent } from 'react';
import { hostBridge } from '../../host';
import { openImage, useImagesStore } from '../../stores/images';
import { Dialog } from '../common/Dialog';
import { errorText } from '../common/errors';
import { Field } from '../common/Field';
import { basename } from '../common/format';

/** Open an existing image: a path typed (or chosen in the system's dialog, in the app), or a recent one. */
export function OpenImageDialog({ onClose }: { onClose: () => void }) {
  const recent = useImagesStore((s) => s.recent);
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const host = hostBridge();

  const open = async (target: string) => {
    if (target.trim() === '') {
      setError('Type the path of an image file.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await openImage(target.trim());
      onClose();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void open(path);
  };

  const browse = async () => {
    const chosen = await host?.choosePath({ mode: 'open-image', title: 'Open a disk image' });
    if (chosen) {
      setPath(chosen);
      void open(chosen);
    }
  };

  return (
    <Dialog
      title="Open image"
      onClose={onClose}
      testId="open-image-dialog"
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="open-image-form" className="button primary" disabled={busy}>
            {busy ? 'Opening…' : 'Open'}
          </button>
        </>
      }
    >
      <form id="open-image-form" onSubmit={submit} noValidate>
        <Field label="Image file" error={error} hint="A raw disk image: a floppy, or a hard disk with or without a partition table.">
          {(control) => (
            <div className="input-row">
              <input
                {...control}
                className="input mono"
                value={path}
                onChange={(e) => setPath(e.target.value)}
                placeholder="/home/you/os/disk.img"
                autoFocus
                spellCheck={false}
              />
              {host && (
                <button type="button" className="button" onClick={() => void browse()}>
                  Browse…
                </button>
              )}
            </div>
          )}
        </Field>
      </form>
      {recent.length > 0 && (
        <section className="recent" aria-labelledby="recent-title">
          <h3 id="recent-title" className="section-title">
            Recent
          </h3>
          <ul className="recent-list">
            {recent.map((p) => (
              <li key={p}>
                <button type="button" className="link-button" onClick={() => void open(p)} title={p}>
                  <span className="recent-name">{basename(p)}</span> <span className="recent-path">{p}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Dialog>
  );
}
