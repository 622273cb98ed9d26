/**
 * The new-image wizard's steps for a bootable ISO (CD/USB), issue 16: the volume on the Disk step,
 * the same boot loader step as a disk's (GRUB 2 for BIOS and UEFI from one grub.cfg, with the same
 * kernel entry fields) or an El Torito image of your own, and, beside them, what goes where.
 */
import { hostBridge } from '../../host';
import { KernelEntryFields } from '../bootloader/KernelEntryFields';
import type { KernelEntry } from '../bootloader/kernel-entry';
import { Field } from '../common/Field';
import { hybridPossible, isGrub, ISO_BOOT_CHOICES, today, type IsoFields } from './iso-plan';

type IsoValues = IsoFields & KernelEntry & { path: string };

/** What the ISO steps need of the wizard's form (useForm's, over a draft that has these fields). */
export interface IsoFormApi {
  values: IsoValues;
  set: <K extends keyof IsoValues>(key: K, value: IsoValues[K]) => void;
  errorOf: (key: keyof IsoValues) => string | null;
  leave: (key: keyof IsoValues) => void;
}

/** The ISO steps' view of a form over any draft that has the ISO and kernel fields. */
export function isoFormApi<V extends IsoValues>(form: {
  values: V;
  set: <K extends keyof V>(key: K, value: V[K]) => void;
  errorOf: (key: keyof V) => string | null;
  leave: (key: keyof V) => void;
}): IsoFormApi {
  return {
    values: form.values,
    set: (key, value) => form.set(key, value as unknown as V[typeof key]),
    errorOf: (key) => form.errorOf(key),
    leave: (key) => form.leave(key),
  };
}

/** The Disk step's fields for an ISO: its label, and whether its date is pinned. */
export function IsoDiskFields({ form }: { form: IsoFormApi }) {
  const v = form.values;
  return (
    <div className="form-grid" data-testid="iso-disk-fields">
      <p className="muted">
        An ISO 9660 image, as <code>grub-mkrescue</code> makes one: its size follows from its files (Rock Ridge keeps their names and links,
        Joliet shows them to Windows). Built from a recipe saved beside it, it can be made again with <code>loopstudio build</code>;
        Loopback Studio reads it but never changes it.
      </p>
      <Field
        label="Volume label"
        error={form.errorOf('isoVolumeId')}
        hint="Up to 32 characters of printable ASCII; empty: ISOIMAGE."
        testId="iso-volume-field"
      >
        {(control) => (
          <input
            {...control}
            className="input mono"
            value={v.isoVolumeId}
            onChange={(e) => form.set('isoVolumeId', e.target.value)}
            onBlur={() => form.leave('isoVolumeId')}
            placeholder="MYOS"
            spellCheck={false}
          />
        )}
      </Field>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={v.isoFixedDate}
          onChange={(e) => form.set('isoFixedDate', e.target.checked)}
          data-testid="iso-fixed-date"
        />{' '}
        <span>Date it {today()} in the recipe: every build gives the same bytes</span>
      </label>
    </div>
  );
}

/** The Boot loader step for an ISO. */
export function IsoBootStep({ form }: { form: IsoFormApi }) {
  const v = form.values;
  const host = hostBridge();
  const browse = async () => {
    const chosen = await host?.choosePath({ mode: 'file', title: 'Your El Torito boot image' });
    if (chosen) form.set('isoBootImage', chosen);
  };
  return (
    <div className="form-grid" data-testid="iso-boot-step">
      <fieldset className="choice-group stacked">
        <legend>Boot loader</legend>
        {ISO_BOOT_CHOICES.map((c) => (
          <label key={c.id} className="choice">
            <input type="radio" name="iso-boot" checked={v.isoBoot === c.id} onChange={() => form.set('isoBoot', c.id)} />
            <span>
              <strong>{c.label}</strong> <span className="muted">{c.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {hybridPossible(v.isoBoot) && (
        <label className="checkbox">
          <input type="checkbox" checked={v.isoHybrid} onChange={(e) => form.set('isoHybrid', e.target.checked)} data-testid="iso-hybrid" />{' '}
          <span>
            Hybrid: boots from a USB stick (or <code>qemu -hda</code>) too, through GRUB’s MBR
          </span>
        </label>
      )}
      {isGrub(v.isoBoot) && (
        <>
          <h3 className="section-title">Kernel</h3>
          <KernelEntryFields
            entry={v}
            set={(key, value) => form.set(key, value as IsoValues[typeof key])}
            errorOf={(key) => form.errorOf(key)}
            leave={(key) => form.leave(key)}
            loader="grub2"
            needsFile
            titlePlaceholder={v.isoVolumeId.trim() || 'My OS'}
          />
        </>
      )}
      {v.isoBoot === 'boot-image' && (
        <Field
          label="Boot image file"
          error={form.errorOf('isoBootImage')}
          hint="Copied to /boot/ in the image; the BIOS loads its first 2 KiB (4 sectors)."
          testId="iso-boot-image-field"
        >
          {(control) => (
            <div className="input-row">
              <input
                {...control}
                className="input mono"
                value={v.isoBootImage}
                onChange={(e) => form.set('isoBootImage', e.target.value)}
                onBlur={() => form.leave('isoBootImage')}
                placeholder="/home/you/os/build/boot.bin"
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
      )}
    </div>
  );
}

/** Beside the steps, where a disk shows its geometry: what goes where in the ISO. */
export function IsoLayoutPanel({ values }: { values: IsoValues }) {
  const grub = isGrub(values.isoBoot);
  const rows: Array<[string, string]> = [['/', 'ISO 9660, Rock Ridge, Joliet']];
  if (grub) {
    rows.push(
      [values.kernelPath.trim() || '/boot/kernel.elf', values.kernelFile.trim().split('/').pop() || 'your kernel'],
      ['/boot/grub/grub.cfg', 'the menu'],
    );
    if (values.isoBoot !== 'grub2-uefi') rows.push(['/boot/grub/i386-pc/', 'eltorito.img (BIOS), modules']);
    if (values.isoBoot !== 'grub2-bios') rows.push(['EFI partition', 'BOOTX64.EFI (UEFI), after the files']);
    if (hybridPossible(values.isoBoot) && values.isoHybrid) rows.push(['sector 0', 'hybrid MBR: 1 = the ISO, 2 = EFI']);
  } else if (values.isoBoot === 'boot-image') {
    rows.push([`/boot/${values.isoBootImage.trim().split('/').pop() || 'boot.bin'}`, 'El Torito, no emulation']);
  }
  const boots =
    values.isoBoot === 'none'
      ? 'Not bootable: a data CD.'
      : `Boots as a CD with ${values.isoBoot === 'grub2-both' ? 'BIOS and UEFI' : values.isoBoot === 'grub2-uefi' ? 'UEFI' : 'BIOS'}${hybridPossible(values.isoBoot) && values.isoHybrid ? ', and from a USB stick' : ''}: Launch in QEMU attaches it as a CD.`;
  return (
    <aside className="geometry" aria-labelledby="iso-layout-title" data-testid="iso-layout">
      <h3 id="iso-layout-title" className="section-title">
        The ISO
      </h3>
      <dl className="geometry-list">
        {rows.map(([where, what]) => (
          <div key={where}>
            <dt className="mono">
              {where.split('/').map((part, i) => (
                <span key={i}>
                  {i > 0 && '/'}
                  {i > 0 && <wbr />}
                  {part}
                </span>
              ))}
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
      <p className="muted">{boots}</p>
    </aside>
  );
}
