import { hostBridge } from '../../host';
import { forgetRecent, openImage, useImagesStore } from '../../stores/images';
import { Dialog } from '../common/Dialog';
import { errorText } from '../common/errors';
import { Field } from '../common/Field';
import { useForm } from '../common/useForm';
import { RecentImages } from './RecentImages';

/** Open an existing image: a path typed (or chosen in the system's dialog, in the app), or a recent one. */
export function OpenImageDialog({ onClose }: { onClose: () => void }) {
  const recent = useImagesStore((s) => s.recent);
  const host = hostBridge();
  const form = useForm({
    initial: { path: '' },
    validate: (v) => ({ path: v.path.trim() === '' ? 'Type the path of an image file.' : null }),
    submit: async (v) => {
      await openImage(v.path.trim());
      onClose();
    },
    // "No such image file", "is a folder": the path's problem.
    fieldOf: () => 'path' as const,
  });

  const browse = async () => {
    const chosen = await host?.choosePath({ mode: 'open-image', title: 'Open a disk image' });
    if (!chosen) return;
    form.set('path', chosen);
    try {
      await openImage(chosen);
      onClose();
    } catch (error) {
      form.setFieldError('path', errorText(error));
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
          <button type="submit" form="open-image-form" className="button primary" disabled={form.busy}>
            {form.busy ? 'Opening…' : 'Open'}
          </button>
        </>
      }
    >
      <form id="open-image-form" {...form.formProps}>
        <Field
          label="Image file"
          error={form.errorOf('path')}
          hint="A raw disk image: a floppy, or a hard disk with or without a partition table."
        >
          {(control) => (
            <div className="input-row">
              <input {...control} {...form.bind('path')} className="input mono" placeholder="/home/you/os/disk.img" spellCheck={false} />
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
        <RecentImages
          recent={recent}
          heading="Recent"
          onOpen={async (path) => {
            await openImage(path);
            onClose();
          }}
          onForget={forgetRecent}
        />
      )}
    </Dialog>
  );
}
