import { useEffect, useRef, useState } from 'react';
import type { ImageInfo, MethodInput } from '../../../../shared/api/contract';
import type { BootloaderResult } from '../../../../shared/api/boot';
import type { Grub2Firmware } from '../../../../shared/boot/grub2';
import { hostBridge } from '../../host';
import { installBootloader } from '../../stores/images';
import { Dialog } from '../common/Dialog';
import { Field } from '../common/Field';
import { useForm, type FieldErrors } from '../common/useForm';
import { volumeLabel, volumesOf } from '../image/volumes';
import { INITIAL_KERNEL_ENTRY, kernelEntryProblems, menuOf, type KernelEntry } from './kernel-entry';
import { KernelEntryFields } from './KernelEntryFields';

type Loader = 'grub2' | 'grub-legacy' | 'boot-sector';

const FIRMWARES: { id: Grub2Firmware; label: string }[] = [
  { id: 'bios', label: 'BIOS (core.img after the MBR)' },
  { id: 'uefi', label: 'UEFI (/EFI/BOOT/BOOTX64.EFI on a FAT partition)' },
  { id: 'both', label: 'BIOS and UEFI (one grub.cfg)' },
];

const LOADERS: { id: Loader; label: string; hint: string }[] = [
  { id: 'grub2', label: 'GRUB 2', hint: 'core.img after the MBR, modules and grub.cfg in the filesystem.' },
  { id: 'grub-legacy', label: 'GRUB legacy', hint: 'stage1 in sector 0, stage2 and menu.lst in /boot/grub, set up natively.' },
  { id: 'boot-sector', label: 'Your own boot sector', hint: 'A 512-byte program in sector 0; the BPB and partition table are kept.' },
];

interface Values extends KernelEntry {
  loader: Loader;
  partition: number | null;
  stageDir: string;
  firmware: Grub2Firmware;
  bootSector: string;
  overwriteBpb: boolean;
}

function HostPath({
  label,
  value,
  onChange,
  onBlur,
  hint,
  error,
  mode,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  onBlur?: () => void;
  hint?: string;
  error?: string | null;
  mode: 'file' | 'folder';
}) {
  const host = hostBridge();
  return (
    <Field label={label} hint={hint} error={error}>
      {(control) => (
        <div className="input-row">
          <input
            {...control}
            className="input mono"
            value={value}
            onChange={(e) => onChange(e.target.value)}
            onBlur={onBlur}
            spellCheck={false}
          />
          {host && (
            <button
              type="button"
              className="button"
              onClick={() => void host.choosePath({ mode, ...(value ? { defaultPath: value } : {}) }).then((p) => p && onChange(p))}
            >
              Browse…
            </button>
          )}
        </div>
      )}
    </Field>
  );
}

/** Install a boot loader: GRUB 2, GRUB legacy or a boot sector, with the menu entry for a kernel. */
export function BootloaderDialog({ info, onClose }: { info: ImageInfo; onClose: () => void }) {
  const volumes = volumesOf(info);
  const withFs = volumes.filter((v) => v.filesystem);
  const [result, setResult] = useState<BootloaderResult | null>(null);
  const form = useForm<Values>({
    initial: () => ({
      ...INITIAL_KERNEL_ENTRY,
      loader: info.floppy ? 'grub-legacy' : 'grub2',
      partition: (withFs[0] ?? volumes[0])?.partition ?? null,
      stageDir: '',
      firmware: 'bios',
      bootSector: '',
      overwriteBpb: false,
    }),
    validate: (v): FieldErrors<Values> =>
      v.loader === 'boot-sector'
        ? v.bootSector.trim() === ''
          ? { bootSector: 'Name the file with your boot sector (512 bytes ending in 55 AA).' }
          : {}
        : kernelEntryProblems(v, v.loader),
    submit: async (v) => {
      const base = { path: info.path, ...(v.partition === null ? {} : { partition: v.partition }) };
      const input: MethodInput<'bootloader.install'> =
        v.loader === 'boot-sector'
          ? { ...base, loader: v.loader, bootSector: v.bootSector.trim(), ...(v.overwriteBpb ? { overwriteBpb: true } : {}) }
          : {
              ...base,
              loader: v.loader,
              menu: menuOf(v, 'My OS'),
              ...(v.kernelFile.trim() ? { kernelFile: v.kernelFile.trim() } : {}),
              ...(v.loader === 'grub-legacy' && v.stageDir.trim() ? { stageDir: v.stageDir.trim() } : {}),
              ...(v.loader === 'grub2' && v.firmware !== 'bios' ? { firmware: v.firmware } : {}),
            };
      setResult(await installBootloader(input, info));
    },
  });
  const v = form.values;
  // The form gives way to the result: the focus goes to Done rather than to the page.
  const done = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (result) done.current?.focus();
  }, [result]);

  return (
    <Dialog
      title="Install bootloader"
      size="wide"
      onClose={onClose}
      testId="bootloader-dialog"
      description={`On ${info.path}.`}
      footer={
        result ? (
          <button type="button" className="button primary" onClick={onClose} ref={done}>
            Done
          </button>
        ) : (
          <>
            <button type="button" className="button" onClick={onClose} disabled={form.busy}>
              Cancel
            </button>
            <button type="submit" form="bootloader-form" className="button primary" disabled={form.busy}>
              {form.busy ? 'Installing…' : 'Install'}
            </button>
          </>
        )
      }
    >
      {result ? (
        <div data-testid="bootloader-result" role="status">
          <p>
            {LOADERS.find((l) => l.id === result.loader)!.label} is installed on {result.volume}
            {result.device ? ` (the boot loader calls it ${result.device})` : ''}.
          </p>
          <ul>
            {result.sectors.map((s) => (
              <li key={`${s.what}-${s.sector}`}>
                {s.what}: sector {s.sector}
                {s.count > 1 ? `, ${s.count} sectors` : ''}
              </li>
            ))}
            {result.files.map((f) => (
              <li key={f} className="mono">
                {f}
              </li>
            ))}
            {result.modules > 0 && <li>{result.modules} GRUB modules</li>}
            {result.efi && (
              <li>
                UEFI loader <span className="mono">{result.efi.path}</span>, {Math.round(result.efi.bytes / 1024)} KiB, modules built in
              </li>
            )}
          </ul>
          {result.warnings.length > 0 && (
            <ul className="callout warn">
              {result.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
        </div>
      ) : (
        <form id="bootloader-form" {...form.formProps} className="form-grid">
          <fieldset className="choice-group stacked">
            <legend>Boot loader</legend>
            {LOADERS.map((l) => (
              <label key={l.id} className="choice">
                <input type="radio" name="loader" checked={v.loader === l.id} onChange={() => form.set('loader', l.id)} />
                <span>
                  <strong>{l.label}</strong> <span className="muted">{l.hint}</span>
                </span>
              </label>
            ))}
          </fieldset>
          {volumes.length > 1 && (
            <Field label={v.loader === 'boot-sector' ? 'Sector 0 of' : 'Files go in'}>
              {(control) => (
                <select
                  {...control}
                  className="input"
                  value={v.partition ?? 'whole'}
                  onChange={(e) => form.set('partition', e.target.value === 'whole' ? null : Number(e.target.value))}
                >
                  {(v.loader === 'boot-sector' ? volumes : withFs).map((volume) => (
                    <option key={volume.partition ?? 'whole'} value={volume.partition ?? 'whole'}>
                      {volumeLabel(volume)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          {v.loader === 'grub2' && (
            <Field
              label="Firmware"
              hint="UEFI reads only FAT: choose a FAT partition, ideally of type EFI System. Launch with UEFI in the QEMU panel."
            >
              {(control) => (
                <select
                  {...control}
                  className="input"
                  value={v.firmware}
                  onChange={(e) => form.set('firmware', e.target.value as Grub2Firmware)}
                  data-testid="grub2-firmware"
                >
                  {FIRMWARES.map((f) => (
                    <option key={f.id} value={f.id}>
                      {f.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          {v.loader === 'boot-sector' ? (
            <>
              <HostPath
                label="Boot sector file"
                value={v.bootSector}
                onChange={(p) => form.set('bootSector', p)}
                onBlur={() => form.leave('bootSector')}
                error={form.errorOf('bootSector')}
                hint="nasm -f bin boot.asm -o boot.bin"
                mode="file"
              />
              <label className="checkbox">
                <input type="checkbox" checked={v.overwriteBpb} onChange={(e) => form.set('overwriteBpb', e.target.checked)} /> Replace the
                FAT BPB with the file’s bytes (normally kept)
              </label>
            </>
          ) : (
            <>
              <h3 className="section-title">Menu entry</h3>
              <KernelEntryFields
                entry={v}
                set={(key, value) => form.set(key, value as Values[typeof key])}
                errorOf={(key) => form.errorOf(key)}
                leave={(key) => form.leave(key)}
                loader={v.loader}
                needsFile={false}
                titlePlaceholder="My OS"
              />
              {v.loader === 'grub-legacy' && (
                <HostPath
                  label="Folder with stage1 and stage2 (optional)"
                  value={v.stageDir}
                  onChange={(p) => form.set('stageDir', p)}
                  hint="Default: the host’s GRUB legacy files."
                  mode="folder"
                />
              )}
            </>
          )}
        </form>
      )}
      {form.formError && (
        <p className="callout error" role="alert" data-testid="bootloader-error">
          {form.formError}
        </p>
      )}
    </Dialog>
  );
}
