import type { KernelType } from '../../../../shared/boot/menu';
import { hostBridge } from '../../host';
import { Field } from '../common/Field';
import { kernelTypesFor, type KernelEntry, type MenuLoader } from './kernel-entry';

/**
 * The boot menu's entry for a kernel, the same fields in the new-image wizard and in Install
 * bootloader: the kernel file on this computer (copied in), its path in the image, the title, the
 * kind of kernel and its command line, and the serial console. Each problem shows at its field.
 * `needsFile`: the wizard writes a menu only for a kernel it copies in, so the entry's fields
 * appear once a file is named; the dialog can also point a menu at a kernel already in the image.
 */
export function KernelEntryFields({
  entry,
  set,
  errorOf,
  leave,
  loader,
  needsFile,
  titlePlaceholder,
}: {
  entry: KernelEntry;
  set: <K extends keyof KernelEntry>(key: K, value: KernelEntry[K]) => void;
  errorOf: (key: keyof KernelEntry) => string | null;
  leave?: (key: keyof KernelEntry) => void;
  loader: MenuLoader;
  needsFile: boolean;
  titlePlaceholder: string;
}) {
  const host = hostBridge();
  const text = (key: 'kernelTitle' | 'kernelPath' | 'cmdline' | 'kernelFile') => ({
    value: entry[key],
    onChange: (e: { target: { value: string } }) => set(key, e.target.value),
    onBlur: () => leave?.(key),
  });
  const showEntry = !needsFile || entry.kernelFile.trim() !== '';
  return (
    <div className="kernel-entry" data-testid="kernel-entry">
      <Field
        label="Kernel file on this computer (optional)"
        hint={
          needsFile
            ? 'Copied into the image; the menu boots it. Without one, GRUB starts at its prompt.'
            : 'Copied to the path in the image before the menu is written.'
        }
        error={errorOf('kernelFile')}
        testId="kernel-file-field"
      >
        {(control) => (
          <div className="input-row">
            <input
              {...control}
              {...text('kernelFile')}
              className="input mono"
              placeholder="/home/you/os/build/kernel.elf"
              spellCheck={false}
            />
            {host && (
              <button
                type="button"
                className="button"
                onClick={() =>
                  void host
                    .choosePath({
                      mode: 'file',
                      title: 'The kernel to boot',
                      ...(entry.kernelFile ? { defaultPath: entry.kernelFile } : {}),
                    })
                    .then((p) => p && set('kernelFile', p))
                }
              >
                Browse…
              </button>
            )}
          </div>
        )}
      </Field>
      {showEntry && (
        <>
          <div className="form-grid two">
            <Field label="Path in the image" error={errorOf('kernelPath')}>
              {(control) => <input {...control} {...text('kernelPath')} className="input mono" spellCheck={false} />}
            </Field>
            <Field label="Title" error={errorOf('kernelTitle')}>
              {(control) => <input {...control} {...text('kernelTitle')} className="input" placeholder={titlePlaceholder} />}
            </Field>
            <Field label="Kind of kernel" error={errorOf('kernelType')}>
              {(control) => (
                <select
                  {...control}
                  className="input"
                  value={entry.kernelType}
                  onChange={(e) => set('kernelType', e.target.value as KernelType)}
                >
                  {/* A kind the loader cannot boot stays listed while chosen, so its refusal can say so. */}
                  {[...new Set([...kernelTypesFor(loader), entry.kernelType])].map((t) => (
                    <option key={t} value={t}>
                      {t}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Command line" error={errorOf('cmdline')}>
              {(control) => (
                <input
                  {...control}
                  {...text('cmdline')}
                  className="input mono"
                  spellCheck={false}
                  placeholder={entry.kernelType === 'linux' ? 'console=ttyS0' : ''}
                />
              )}
            </Field>
          </div>
          <label className="checkbox">
            <input type="checkbox" checked={entry.serial} onChange={(e) => set('serial', e.target.checked)} /> Menu on the serial console
            too
          </label>
        </>
      )}
    </div>
  );
}
