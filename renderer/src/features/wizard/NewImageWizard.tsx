import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { FLOPPY_PRESET_NAMES, FLOPPY_PRESETS } from '../../../../shared/disk/geometry';
import { FS_TYPES, type FsType } from '../../../../shared/fs/types';
import { hostBridge } from '../../host';
import { useActivityStore } from '../../stores/activity';
import { createFromPlan, useNewImageStore } from '../../stores/new-image';
import { jobFraction, ProgressBar } from '../common/ProgressBar';
import { Dialog } from '../common/Dialog';
import { Field } from '../common/Field';
import { formatBytes } from '../common/format';
import { FS_LABELS, suggestedFat } from '../format/fs-plan';
import { GeometryPanel } from './GeometryPanel';
import { KERNEL_TYPES, type KernelType } from '../../../../shared/boot/menu';
import {
  checkFilesystem,
  checkKernelPath,
  checkPartition,
  checkShape,
  INITIAL_FORM,
  loaderChoices,
  recipeFromWizard,
  recipePathFor,
  suggestedLoader,
  summaryLines,
  volumeOf,
  wizardMenu,
  type LoaderChoice,
  type PartitionCheck,
  type WizardForm,
} from './plan';

type Step = 'disk' | 'partitions' | 'filesystem' | 'boot' | 'create';
const STEP_TITLES: Record<Step, string> = { disk: 'Disk', partitions: 'Partitions', filesystem: 'Filesystem', boot: 'Boot loader', create: 'Create' };

/** New image: floppy or hard disk → partition → filesystem → boot loader → where, summary, Create. */
export function NewImageWizard({ onClose }: { onClose: () => void }) {
  const [form, setForm] = useState<WizardForm>(INITIAL_FORM);
  const [step, setStep] = useState<Step>('disk');
  const [fsTouched, setFsTouched] = useState(false);
  const [loaderTouched, setLoaderTouched] = useState(false);
  const [partitionCheck, setPartitionCheck] = useState<PartitionCheck>({ partition: null, disk: null, spec: null, error: null });
  const [pathError, setPathError] = useState<string | null>(null);
  const [createError, setCreateError] = useState<string | null>(null);
  const running = useNewImageStore((s) => s.step);
  const job = useActivityStore((s) => s.jobs.findLast((j) => j.state === 'running'));
  const host = hostBridge();

  const set = <K extends keyof WizardForm>(key: K, value: WizardForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const shapeCheck = useMemo(() => checkShape(form), [form]);
  const shape = shapeCheck.shape;
  const partitioned = form.kind === 'disk' && form.table !== 'none';
  const steps: Step[] = form.kind === 'floppy' ? ['disk', 'filesystem', 'boot', 'create'] : ['disk', 'partitions', 'filesystem', 'boot', 'create'];

  useEffect(() => {
    let current = true;
    if (!shape) return;
    void checkPartition(form, shape).then((check) => current && setPartitionCheck(check));
    return () => {
      current = false;
    };
  }, [form, shape]);

  const volume = shape ? volumeOf(form, shape, partitionCheck.partition) : null;
  // Until the person picks one, the filesystem follows the volume's size (FAT12 for a floppy …).
  useEffect(() => {
    if (!fsTouched && volume) {
      const suggested = form.kind === 'disk' && volume.sizeBytes >= 32 * 1024 * 1024 ? 'ext2' : suggestedFat(volume.sizeBytes, volume.startSector);
      if (suggested !== form.fs) set('fs', suggested);
    }
  }, [fsTouched, volume?.sizeBytes, volume?.startSector, form.kind, form.fs]);
  const fsPlan = checkFilesystem(form, volume);
  const loaders = loaderChoices(form, partitioned ? partitionCheck.disk : null);
  const loaderProblem = loaders.find((l) => l.id === form.bootloader)?.unavailable ?? null;
  // Until the person picks one, the boot loader follows the layout (GRUB legacy on a floppy …).
  const suggestedBoot = suggestedLoader(loaders, form.kind);
  useEffect(() => {
    if (!loaderTouched && suggestedBoot !== form.bootloader) set('bootloader', suggestedBoot);
  }, [loaderTouched, suggestedBoot, form.bootloader]);
  const kernelPathError = checkKernelPath(form);

  const stepValid: Record<Step, boolean> = {
    disk: !!shape,
    partitions: !partitioned || (!!partitionCheck.partition && !partitionCheck.error),
    filesystem: form.fs === 'none' || !!fsPlan?.ok,
    boot: form.bootloader === 'none' || (!loaderProblem && !kernelPathError),
    create: form.path.trim() !== '',
  };
  const index = steps.indexOf(step);
  const canCreate = steps.every((s) => stepValid[s]);

  const next = () => {
    if (!stepValid[step]) return;
    setStep(steps[Math.min(index + 1, steps.length - 1)]!);
  };

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (step !== 'create') return next();
    if (form.path.trim() === '') {
      setPathError('Type where to save the image, e.g. /home/you/os/disk.img.');
      return;
    }
    if (!canCreate || !shapeCheck.create) return;
    setPathError(null);
    setCreateError(null);
    const outcome = await createFromPlan({
      path: form.path.trim(),
      shape: shapeCheck.create,
      partition: partitioned && partitionCheck.spec ? { table: form.table as 'mbr' | 'gpt', alignmentSectors: form.alignmentSectors, spec: partitionCheck.spec } : null,
      filesystem: form.fs === 'none' ? null : { fs: form.fs, label: form.label },
      bootloader:
        form.fs === 'none' || form.bootloader === 'none'
          ? null
          : {
              loader: form.bootloader,
              ...(form.kernelFile.trim()
                ? {
                    kernelFile: form.kernelFile.trim(),
                    menu: wizardMenu(form),
                  }
                : {}),
            },
      recipe: form.saveRecipe && recipePathFor(form.path) ? { path: recipePathFor(form.path)!, document: recipeFromWizard(form, partitionCheck.partition) } : null,
    });
    if (outcome.ok) onClose();
    else if (outcome.field === 'path') setPathError(outcome.message);
    else setCreateError(outcome.message);
  };

  const browse = async () => {
    const chosen = await host?.choosePath({ mode: 'save-image', title: 'Save the new image as', defaultPath: form.kind === 'floppy' ? 'floppy.img' : 'disk.img' });
    if (chosen) set('path', chosen);
  };

  return (
    <Dialog
      title="New image"
      size="wide"
      onClose={onClose}
      testId="new-image-wizard"
      footer={
        <>
          {running && (
            <span className="footer-progress">
              <ProgressBar fraction={job ? jobFraction(job) : null} label={running} />
            </span>
          )}
          {createError && (
            <p className="footer-error" role="alert" data-testid="create-error">
              {createError}
            </p>
          )}
          <button type="button" className="button" onClick={onClose} disabled={!!running}>
            Cancel
          </button>
          <button type="button" className="button" onClick={() => setStep(steps[Math.max(0, index - 1)]!)} disabled={index === 0 || !!running}>
            Back
          </button>
          {step === 'create' ? (
            <button type="submit" form="wizard-form" className="button primary" disabled={!canCreate || !!running}>
              {running ? `${running}…` : 'Create'}
            </button>
          ) : (
            <button type="submit" form="wizard-form" className="button primary" disabled={!stepValid[step]}>
              Next
            </button>
          )}
        </>
      }
    >
      <ol className="stepper" aria-label="Steps">
        {steps.map((s, i) => (
          <li key={s} aria-current={s === step ? 'step' : undefined} className={i < index ? 'done' : undefined}>
            <button type="button" className="link-button" onClick={() => i <= index && setStep(s)} disabled={i > index}>
              <span className="step-index">{i + 1}</span> {STEP_TITLES[s]}
            </button>
          </li>
        ))}
      </ol>
      <div className="wizard-body">
        <form id="wizard-form" className="wizard-form" onSubmit={(e) => void create(e)} noValidate>
          {step === 'disk' && <DiskStep form={form} set={set} errors={shapeCheck.errors} />}
          {step === 'partitions' && <PartitionStep form={form} set={set} check={partitionCheck} />}
          {step === 'filesystem' && (
            <FilesystemStep
              form={form}
              set={(key, value) => {
                if (key === 'fs') setFsTouched(true);
                set(key, value);
              }}
              planText={fsPlan?.text ?? null}
              planOk={fsPlan?.ok ?? true}
              volumeBytes={volume?.sizeBytes ?? null}
            />
          )}
          {step === 'boot' && (
            <BootStep
              form={form}
              set={(key, value) => {
                if (key === 'bootloader') setLoaderTouched(true);
                set(key, value);
              }}
              choices={loaders}
              problem={loaderProblem}
              kernelPathError={kernelPathError}
              browse={host ? async () => (await host.choosePath({ mode: 'file', title: 'The kernel to boot' })) ?? null : null}
            />
          )}
          {step === 'create' && shape && (
            <>
              <Field label="Save as" error={pathError} hint="An image file that does not exist yet; its folder must exist.">
                {(control) => (
                  <div className="input-row">
                    <input
                      {...control}
                      className="input mono"
                      value={form.path}
                      onChange={(e) => {
                        set('path', e.target.value);
                        setPathError(null);
                      }}
                      placeholder={form.kind === 'floppy' ? '/home/you/os/floppy.img' : '/home/you/os/disk.img'}
                      spellCheck={false}
                      autoFocus
                    />
                    {host && (
                      <button type="button" className="button" onClick={() => void browse()}>
                        Browse…
                      </button>
                    )}
                  </div>
                )}
              </Field>
              <label className="checkbox">
                <input type="checkbox" checked={form.saveRecipe} onChange={(e) => set('saveRecipe', e.target.checked)} data-testid="save-recipe" /> Save the recipe beside the image
                {recipePathFor(form.path) ? <span className="muted mono"> ({recipePathFor(form.path)!.split('/').pop()})</span> : null}, so{' '}
                <code>loopstudio build</code> can make it again
              </label>
              <section aria-labelledby="summary-title" className="summary">
                <h3 id="summary-title" className="section-title">
                  Summary
                </h3>
                <ol data-testid="wizard-summary">
                  {summaryLines(form, shape, partitionCheck.partition).map((line) => (
                    <li key={line}>{line}</li>
                  ))}
                </ol>
              </section>
            </>
          )}
        </form>
        {shape ? (
          <GeometryPanel shape={shape} report={shapeCheck.report} floppy={form.kind === 'floppy' ? form.floppy : null} partition={partitioned ? partitionCheck.partition : null} fileName={form.path.split('/').pop() ?? ''} />
        ) : (
          <aside className="geometry" aria-label="Geometry">
            <h3 className="section-title">Geometry</h3>
            <p className="geometry-empty">Correct the size to see the cylinders, heads and sectors it makes.</p>
          </aside>
        )}
      </div>
    </Dialog>
  );
}

type Setter = <K extends keyof WizardForm>(key: K, value: WizardForm[K]) => void;

function DiskStep({ form, set, errors }: { form: WizardForm; set: Setter; errors: { size?: string; chs?: string } }) {
  return (
    <>
      <fieldset className="choice-group">
        <legend>Kind of image</legend>
        <label className="choice">
          <input type="radio" name="kind" checked={form.kind === 'floppy'} onChange={() => set('kind', 'floppy')} /> Floppy
        </label>
        <label className="choice">
          <input type="radio" name="kind" checked={form.kind === 'disk'} onChange={() => set('kind', 'disk')} /> Hard disk
        </label>
      </fieldset>
      {form.kind === 'floppy' ? (
        <fieldset className="choice-group presets">
          <legend>Floppy format</legend>
          {FLOPPY_PRESET_NAMES.map((name) => (
            <label key={name} className="choice preset">
              <input type="radio" name="floppy" checked={form.floppy === name} onChange={() => set('floppy', name)} />
              <span>
                <strong>{name}</strong> <span className="muted">{FLOPPY_PRESETS[name].description}</span>
              </span>
            </label>
          ))}
        </fieldset>
      ) : (
        <>
          <fieldset className="choice-group">
            <legend>Hard disk size</legend>
            <label className="choice">
              <input type="radio" name="by" checked={form.by === 'size'} onChange={() => set('by', 'size')} /> By size
            </label>
            <label className="choice">
              <input type="radio" name="by" checked={form.by === 'chs'} onChange={() => set('by', 'chs')} /> By cylinders, heads and sectors
            </label>
          </fieldset>
          {form.by === 'size' ? (
            <div className="form-grid">
              <Field label="Size" error={errors.size} hint="64M and 64MiB are binary (2²⁰), 64MB is decimal; 2048s is sectors." testId="size-field">
                {(control) => <input {...control} className="input mono" value={form.size} onChange={(e) => set('size', e.target.value)} spellCheck={false} autoFocus />}
              </Field>
              <label className="checkbox">
                <input type="checkbox" checked={form.wholeCylinders} onChange={(e) => set('wholeCylinders', e.target.checked)} /> Round up to whole cylinders of
              </label>
              <div className="inline-pair">
                <Field label="Heads">{(control) => <input {...control} className="input mono narrow" value={form.heads} onChange={(e) => set('heads', e.target.value)} disabled={!form.wholeCylinders} inputMode="numeric" />}</Field>
                <Field label="Sectors per track">
                  {(control) => <input {...control} className="input mono narrow" value={form.sectorsPerTrack} onChange={(e) => set('sectorsPerTrack', e.target.value)} disabled={!form.wholeCylinders} inputMode="numeric" />}
                </Field>
              </div>
            </div>
          ) : (
            <div className="inline-pair triple">
              <Field label="Cylinders" error={errors.chs} testId="chs-field">
                {(control) => <input {...control} className="input mono narrow" value={form.cylinders} onChange={(e) => set('cylinders', e.target.value)} inputMode="numeric" autoFocus />}
              </Field>
              <Field label="Heads">{(control) => <input {...control} className="input mono narrow" value={form.heads} onChange={(e) => set('heads', e.target.value)} inputMode="numeric" />}</Field>
              <Field label="Sectors per track">
                {(control) => <input {...control} className="input mono narrow" value={form.sectorsPerTrack} onChange={(e) => set('sectorsPerTrack', e.target.value)} inputMode="numeric" />}
              </Field>
            </div>
          )}
        </>
      )}
    </>
  );
}

function PartitionStep({ form, set, check }: { form: WizardForm; set: Setter; check: PartitionCheck }) {
  return (
    <>
      <fieldset className="choice-group">
        <legend>Partition table</legend>
        <label className="choice">
          <input type="radio" name="table" checked={form.table === 'mbr'} onChange={() => set('table', 'mbr')} /> MBR
        </label>
        <label className="choice">
          <input type="radio" name="table" checked={form.table === 'gpt'} onChange={() => set('table', 'gpt')} /> GPT
        </label>
        <label className="choice">
          <input type="radio" name="table" checked={form.table === 'none'} onChange={() => set('table', 'none')} /> None (one filesystem on the whole disk)
        </label>
      </fieldset>
      {form.table !== 'none' && (
        <>
          <fieldset className="choice-group">
            <legend>Alignment</legend>
            <label className="choice">
              <input type="radio" name="align" checked={form.alignmentSectors === 2048} onChange={() => set('alignmentSectors', 2048)} /> 2048 sectors (1 MiB, modern)
            </label>
            <label className="choice">
              <input type="radio" name="align" checked={form.alignmentSectors === 63} onChange={() => set('alignmentSectors', 63)} /> 63 sectors (one track, as DOS fdisk)
            </label>
          </fieldset>
          <h3 className="section-title">First partition</h3>
          <div className="form-grid two">
            <Field label="Start sector" hint={`Empty: sector ${form.alignmentSectors}.`} error={check.error} testId="partition-start-field">
              {(control) => <input {...control} className="input mono" value={form.partitionStart} onChange={(e) => set('partitionStart', e.target.value)} placeholder={String(form.alignmentSectors)} inputMode="numeric" />}
            </Field>
            <Field label="Size" hint="rest, a number of sectors, or a size such as 20M.">
              {(control) => <input {...control} className="input mono" value={form.partitionSize} onChange={(e) => set('partitionSize', e.target.value)} spellCheck={false} />}
            </Field>
            <Field label="Type" hint={form.table === 'mbr' ? 'Hex id (83, 0c …) or name; automatic follows the filesystem.' : 'linux, msdata, efi, bios … or a GUID.'}>
              {(control) => (
                <input {...control} className="input mono" value={form.partitionType} onChange={(e) => set('partitionType', e.target.value.trim() || 'auto')} spellCheck={false} />
              )}
            </Field>
            <label className="checkbox">
              <input type="checkbox" checked={form.bootable} onChange={(e) => set('bootable', e.target.checked)} /> Bootable
            </label>
          </div>
        </>
      )}
    </>
  );
}

function FilesystemStep({
  form,
  set,
  planText,
  planOk,
  volumeBytes,
}: {
  form: WizardForm;
  set: Setter;
  planText: string | null;
  planOk: boolean;
  volumeBytes: number | null;
}) {
  return (
    <div className="form-grid">
      <p className="muted">
        On {form.kind === 'floppy' ? 'the whole floppy' : form.table === 'none' ? 'the whole disk' : 'partition 1'}
        {volumeBytes !== null ? ` (${formatBytes(volumeBytes)})` : ''}.
      </p>
      <Field label="Filesystem" error={planOk ? null : planText} hint={planOk && planText ? planText : undefined} testId="fs-field">
        {(control) => (
          <select {...control} className="input" value={form.fs} onChange={(e) => set('fs', e.target.value as FsType | 'none')}>
            {FS_TYPES.map((t) => (
              <option key={t} value={t}>
                {FS_LABELS[t]}
              </option>
            ))}
            <option value="none">None (leave it unformatted)</option>
          </select>
        )}
      </Field>
      {form.fs !== 'none' && (
        <Field label="Label" hint={form.fs === 'ext2' ? 'Up to 16 characters.' : 'Up to 11 characters, stored in capitals.'}>
          {(control) => <input {...control} className="input" value={form.label} onChange={(e) => set('label', e.target.value)} spellCheck={false} />}
        </Field>
      )}
    </div>
  );
}

function BootStep({
  form,
  set,
  choices,
  problem,
  kernelPathError,
  browse,
}: {
  form: WizardForm;
  set: Setter;
  choices: LoaderChoice[];
  problem: string | null;
  kernelPathError: string | null;
  browse: (() => Promise<string | null>) | null;
}) {
  const hints: Record<LoaderChoice['id'], string> = {
    none: 'Leave sector 0 as it is; install one later.',
    'grub-legacy': 'stage1 in sector 0, stage2 and menu.lst in /boot/grub, as the article’s setup (fd0).',
    grub2: 'boot.img in the MBR, core.img in the gap before partition 1, modules and grub.cfg in /boot/grub.',
  };
  return (
    <div className="form-grid">
      <fieldset className="choice-group stacked" aria-describedby={problem ? 'loader-problem' : undefined}>
        <legend>Boot loader</legend>
        {choices.map((c) => (
          <label key={c.id} className="choice" title={c.unavailable ?? undefined}>
            <input type="radio" name="bootloader" checked={form.bootloader === c.id} onChange={() => set('bootloader', c.id)} disabled={c.unavailable !== null && form.bootloader !== c.id} />
            <span>
              <strong>{c.label}</strong> <span className="muted">{c.unavailable ?? hints[c.id]}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {problem && (
        <p id="loader-problem" className="field-error" role="alert">
          {problem}
        </p>
      )}
      {form.bootloader !== 'none' && (
        <>
          <h3 className="section-title">Kernel</h3>
          <Field label="Kernel file on this computer (optional)" hint="Copied into the image; the menu boots it. Without one, GRUB starts at its prompt." testId="kernel-file-field">
            {(control) => (
              <div className="input-row">
                <input {...control} className="input mono" value={form.kernelFile} onChange={(e) => set('kernelFile', e.target.value)} placeholder="/home/you/os/build/kernel.elf" spellCheck={false} />
                {browse && (
                  <button type="button" className="button" onClick={() => void browse().then((p) => p && set('kernelFile', p))}>
                    Browse…
                  </button>
                )}
              </div>
            )}
          </Field>
          {form.kernelFile.trim() !== '' && (
            <div className="form-grid two">
              <Field label="Path in the image" error={kernelPathError}>
                {(control) => <input {...control} className="input mono" value={form.kernelPath} onChange={(e) => set('kernelPath', e.target.value)} spellCheck={false} />}
              </Field>
              <Field label="Kind of kernel">
                {(control) => (
                  <select {...control} className="input" value={form.kernelType} onChange={(e) => set('kernelType', e.target.value as KernelType)}>
                    {KERNEL_TYPES.filter((t) => form.bootloader === 'grub2' || t !== 'multiboot2').map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <label className="checkbox">
                <input type="checkbox" checked={form.serial} onChange={(e) => set('serial', e.target.checked)} /> Menu on the serial console too
              </label>
            </div>
          )}
        </>
      )}
    </div>
  );
}
