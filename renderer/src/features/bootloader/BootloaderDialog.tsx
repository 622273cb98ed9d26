import { useState, type FormEvent } from 'react';
import type { ImageInfo, MethodInput } from '../../../../shared/api/contract';
import type { BootloaderResult } from '../../../../shared/api/boot';
import type { Grub2Firmware } from '../../../../shared/boot/grub2';
import { KERNEL_TYPES, type KernelType } from '../../../../shared/boot/menu';
import { hostBridge } from '../../host';
import { installBootloader } from '../../stores/images';
import { errorText } from '../common/errors';
import { Dialog } from '../common/Dialog';
import { Field } from '../common/Field';
import { volumeLabel, volumesOf } from '../image/volumes';

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

function HostPath({ label, value, onChange, hint, error, mode }: { label: string; value: string; onChange: (v: string) => void; hint?: string; error?: string | null; mode: 'file' | 'folder' }) {
  const host = hostBridge();
  return (
    <Field label={label} hint={hint} error={error}>
      {(control) => (
        <div className="input-row">
          <input {...control} className="input mono" value={value} onChange={(e) => onChange(e.target.value)} spellCheck={false} />
          {host && (
            <button type="button" className="button" onClick={() => void host.choosePath({ mode, ...(value ? { defaultPath: value } : {}) }).then((p) => p && onChange(p))}>
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
  const [loader, setLoader] = useState<Loader>(info.floppy ? 'grub-legacy' : 'grub2');
  const [partition, setPartition] = useState<number | null>((withFs[0] ?? volumes[0])?.partition ?? null);
  const [title, setTitle] = useState('My OS');
  const [kernel, setKernel] = useState('/boot/kernel.elf');
  const [kernelType, setKernelType] = useState<KernelType>('multiboot');
  const [cmdline, setCmdline] = useState('');
  const [kernelFile, setKernelFile] = useState('');
  const [serial, setSerial] = useState(true);
  const [stageDir, setStageDir] = useState('');
  const [firmware, setFirmware] = useState<Grub2Firmware>('bios');
  const [bootSector, setBootSector] = useState('');
  const [overwriteBpb, setOverwriteBpb] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [result, setResult] = useState<BootloaderResult | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setFieldError(null);
    if (loader === 'boot-sector' && bootSector.trim() === '') return setFieldError('Name the file with your boot sector (512 bytes ending in 55 AA).');
    const base = { path: info.path, ...(partition === null ? {} : { partition }) };
    const input: MethodInput<'bootloader.install'> =
      loader === 'boot-sector'
        ? { ...base, loader, bootSector: bootSector.trim(), ...(overwriteBpb ? { overwriteBpb } : {}) }
        : {
            ...base,
            loader,
            menu: { timeout: 3, default: 0, serial, entries: [{ title, kernel, type: kernelType, ...(cmdline.trim() ? { cmdline: cmdline.trim() } : {}) }] },
            ...(kernelFile.trim() ? { kernelFile: kernelFile.trim() } : {}),
            ...(loader === 'grub-legacy' && stageDir.trim() ? { stageDir: stageDir.trim() } : {}),
            ...(loader === 'grub2' && firmware !== 'bios' ? { firmware } : {}),
          };
    setBusy(true);
    try {
      setResult(await installBootloader(input));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      title="Install bootloader"
      size="wide"
      onClose={onClose}
      testId="bootloader-dialog"
      description={`On ${info.path}.`}
      footer={
        result ? (
          <button type="button" className="button primary" onClick={onClose}>
            Done
          </button>
        ) : (
          <>
            <button type="button" className="button" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            <button type="submit" form="bootloader-form" className="button primary" disabled={busy}>
              {busy ? 'Installing…' : 'Install'}
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
        <form id="bootloader-form" onSubmit={(e) => void submit(e)} noValidate className="form-grid">
          <fieldset className="choice-group stacked">
            <legend>Boot loader</legend>
            {LOADERS.map((l) => (
              <label key={l.id} className="choice">
                <input type="radio" name="loader" checked={loader === l.id} onChange={() => setLoader(l.id)} />
                <span>
                  <strong>{l.label}</strong> <span className="muted">{l.hint}</span>
                </span>
              </label>
            ))}
          </fieldset>
          {volumes.length > 1 && (
            <Field label={loader === 'boot-sector' ? 'Sector 0 of' : 'Files go in'}>
              {(control) => (
                <select {...control} className="input" value={partition ?? 'whole'} onChange={(e) => setPartition(e.target.value === 'whole' ? null : Number(e.target.value))}>
                  {(loader === 'boot-sector' ? volumes : withFs).map((v) => (
                    <option key={v.partition ?? 'whole'} value={v.partition ?? 'whole'}>
                      {volumeLabel(v)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          {loader === 'grub2' && (
            <Field label="Firmware" hint="UEFI reads only FAT: choose a FAT partition, ideally of type EFI System. Launch with UEFI in the QEMU panel.">
              {(control) => (
                <select {...control} className="input" value={firmware} onChange={(e) => setFirmware(e.target.value as Grub2Firmware)} data-testid="grub2-firmware">
                  {FIRMWARES.map((f) => (
                    <option key={f.id} value={f.id}>
                      {f.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          {loader === 'boot-sector' ? (
            <>
              <HostPath label="Boot sector file" value={bootSector} onChange={setBootSector} error={fieldError} hint="nasm -f bin boot.asm -o boot.bin" mode="file" />
              <label className="checkbox">
                <input type="checkbox" checked={overwriteBpb} onChange={(e) => setOverwriteBpb(e.target.checked)} /> Replace the FAT BPB with the file’s bytes (normally kept)
              </label>
            </>
          ) : (
            <>
              <h3 className="section-title">Menu entry</h3>
              <div className="form-grid two">
                <Field label="Title">{(control) => <input {...control} className="input" value={title} onChange={(e) => setTitle(e.target.value)} />}</Field>
                <Field label="Kernel in the image">{(control) => <input {...control} className="input mono" value={kernel} onChange={(e) => setKernel(e.target.value)} spellCheck={false} />}</Field>
                <Field label="Kind of kernel">
                  {(control) => (
                    <select {...control} className="input" value={kernelType} onChange={(e) => setKernelType(e.target.value as KernelType)}>
                      {KERNEL_TYPES.map((t) => (
                        <option key={t} value={t}>
                          {t}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field label="Command line">{(control) => <input {...control} className="input mono" value={cmdline} onChange={(e) => setCmdline(e.target.value)} spellCheck={false} />}</Field>
              </div>
              <HostPath label="Copy this kernel from the host (optional)" value={kernelFile} onChange={setKernelFile} hint="Copied to the path above before the menu is written." mode="file" />
              <label className="checkbox">
                <input type="checkbox" checked={serial} onChange={(e) => setSerial(e.target.checked)} /> Menu on the serial console too
              </label>
              {loader === 'grub-legacy' && <HostPath label="Folder with stage1 and stage2 (optional)" value={stageDir} onChange={setStageDir} hint="Default: the host’s GRUB legacy files." mode="folder" />}
            </>
          )}
        </form>
      )}
      {error && (
        <p className="callout error" role="alert" data-testid="bootloader-error">
          {error}
        </p>
      )}
    </Dialog>
  );
}
