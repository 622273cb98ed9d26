import { useEffect, useState, type FormEvent } from 'react';
import { FLOPPY_PRESET_NAMES, FLOPPY_PRESETS } from '../../../../shared/disk/geometry';
import { FS_TYPES, type FsType } from '../../../../shared/fs/types';
import { hostBridge } from '../../host';
import { useActivityStore } from '../../stores/activity';
import { createFromPlan, useNewImageStore } from '../../stores/new-image';
import { KernelEntryFields } from '../bootloader/KernelEntryFields';
import { Dialog } from '../common/Dialog';
import { Field } from '../common/Field';
import { focusFirstField } from '../common/focus';
import { formatBytes } from '../common/format';
import { jobFraction, ProgressBar } from '../common/ProgressBar';
import { useForm, type FieldErrors, type Form } from '../common/useForm';
import { FS_LABELS } from '../format/fs-plan';
import { GeometryPanel } from './GeometryPanel';
import {
  checkFilesystem,
  checkPartitionSpec,
  checkShape,
  INITIAL_FORM,
  kernelProblems,
  loaderChoices,
  loaderHint,
  partitionSpec,
  recipeFromWizard,
  recipePathFor,
  suggestedFs,
  suggestedLoader,
  summaryLines,
  volumeOf,
  wizardMenu,
  type LoaderChoice,
  type PartitionCheck,
  type ShapeCheck,
  type WizardForm,
  type WizardLoader,
} from './plan';
import { wizardCommands } from './wizard-commands';
import { createIsoFromPlan } from '../../stores/new-iso';
import {
  INITIAL_ISO,
  isoAllowOutside,
  isoCommands,
  isoProblems,
  isoRecipe,
  isoRecipePath,
  isoSummaryLines,
  type IsoFields,
} from './iso-plan';
import { IsoBootStep, IsoDiskFields, IsoLayoutPanel, isoFormApi } from './IsoSteps';

type Step = 'disk' | 'partitions' | 'filesystem' | 'boot' | 'create';
const STEP_TITLES: Record<Step, string> = {
  disk: 'Disk',
  partitions: 'Partitions',
  filesystem: 'Filesystem',
  boot: 'Boot loader',
  create: 'Create',
};

/**
 * The form as typed. The filesystem and the boot loader are null until the person picks one:
 * until then they are the wizard's suggestion for the layout (worked out, not stored).
 */
type Draft = Omit<WizardForm, 'fs' | 'bootloader'> & { fs: WizardForm['fs'] | null; bootloader: WizardLoader | null } & IsoFields;

const INITIAL_DRAFT: Draft = { ...INITIAL_FORM, ...INITIAL_ISO, fs: null, bootloader: null };
const NO_PARTITION: PartitionCheck = { partition: null, disk: null, spec: null, error: null };
/** Problems shown as they are typed: these fields redraw the geometry beside them at each keystroke. */
const LIVE: (keyof Draft)[] = [
  'size',
  'cylinders',
  'heads',
  'sectorsPerTrack',
  'partitionStart',
  'partitionSize',
  'partitionType',
  'fs',
  'label',
  'kernelPath',
  'kernelType',
  'kernelTitle',
  'cmdline',
  'isoVolumeId',
  'kernelFile',
  'isoBootImage',
];

/** New image: floppy or hard disk → partition → filesystem → boot loader → where, summary, Create. */
export function NewImageWizard({ onClose }: { onClose: () => void }) {
  const [step, setStep] = useState<Step>('disk');
  const [partitionCheck, setPartitionCheck] = useState<PartitionCheck>(NO_PARTITION);
  const running = useNewImageStore((s) => s.step);
  const job = useActivityStore((s) => s.jobs.findLast((j) => j.state === 'running'));
  const host = hostBridge();

  const form: Form<Draft> = useForm<Draft>({
    initial: INITIAL_DRAFT,
    live: LIVE,
    // Called when a problem is first asked for, after everything below is worked out.
    validate: (): FieldErrors<Draft> =>
      // A bootable ISO (issue 16) has none of a disk's fields: its own, and where it goes.
      draft.isoImage
        ? {
            ...isoProblems(draft),
            ...(draft.path.trim() === '' ? { path: 'Type where to save the image, e.g. /home/you/os/myos.iso.' } : {}),
          }
        : {
            ...shapeCheck.errors,
            ...(partitioned && partitionCheck.error ? { partitionStart: partitionCheck.error } : {}),
            ...(fsPlan && !fsPlan.ok ? { fs: fsPlan.text } : {}),
            ...kernel,
            ...(draft.path.trim() === '' ? { path: 'Type where to save the image, e.g. /home/you/os/disk.img.' } : {}),
          },
    submit: async (values) => {
      if (values.isoImage) {
        const recipePath = isoRecipePath(values.path);
        if (!recipePath) return form.setFieldError('path', 'Type the image’s file name, e.g. /home/you/os/myos.iso.');
        const outcome = await createIsoFromPlan({
          path: values.path.trim(),
          recipe: { path: recipePath, document: isoRecipe(values) },
          allowOutside: isoAllowOutside(values),
        });
        if (outcome.ok) onClose();
        else if (outcome.field === 'path') form.setFieldError('path', outcome.message);
        else form.setFormError(outcome.message);
        return;
      }
      if (!shapeCheck.create) return;
      const outcome = await createFromPlan({
        path: values.path.trim(),
        shape: shapeCheck.create,
        partition:
          partitioned && partitionCheck.spec
            ? { table: effective.table as 'mbr' | 'gpt', alignmentSectors: effective.alignmentSectors, spec: partitionCheck.spec }
            : null,
        filesystem: fs === 'none' ? null : { fs, label: effective.label },
        bootloader:
          fs === 'none' || bootloader === 'none'
            ? null
            : {
                loader: bootloader,
                ...(effective.kernelFile.trim() ? { kernelFile: effective.kernelFile.trim(), menu: wizardMenu(effective) } : {}),
              },
        recipe:
          effective.saveRecipe && recipePathFor(effective.path)
            ? { path: recipePathFor(effective.path)!, document: recipeFromWizard(effective, partitionCheck.partition) }
            : null,
      });
      if (outcome.ok) onClose();
      else if (outcome.field === 'path') form.setFieldError('path', outcome.message);
      else form.setFormError(outcome.message);
    },
  });
  const draft: Draft = form.values;
  const shapeCheck: ShapeCheck = checkShape({ ...draft, fs: 'none', bootloader: 'none' });
  const shape = shapeCheck.shape;
  const partitioned = draft.kind === 'disk' && draft.table !== 'none';
  const volume = shape ? volumeOf(draft, shape, partitionCheck.partition) : null;
  const fs = draft.fs ?? suggestedFs(draft, volume);
  const loaders = loaderChoices({ ...draft, fs, bootloader: 'none' }, partitioned ? partitionCheck.disk : null);
  const bootloader = draft.bootloader ?? suggestedLoader(loaders, draft.kind);
  const effective: WizardForm = { ...draft, fs, bootloader };
  const fsPlan = checkFilesystem(effective, volume);
  const loaderProblem = loaders.find((l) => l.id === bootloader)?.unavailable ?? null;
  const kernel = kernelProblems(effective);
  const steps: Step[] = draft.isoImage
    ? ['disk', 'boot', 'create']
    : draft.kind === 'floppy'
      ? ['disk', 'filesystem', 'boot', 'create']
      : ['disk', 'partitions', 'filesystem', 'boot', 'create'];
  const isoCheck = draft.isoImage ? isoProblems(draft) : {};
  const index = steps.indexOf(step);

  // The first partition, placed by the disk core on an in-memory disk of the image's size.
  const spec = partitioned ? partitionSpec(effective) : null;
  const sizeBytes = shape?.sizeBytes ?? null;
  useEffect(() => {
    if (sizeBytes === null || spec === null || draft.table === 'none') return;
    let current = true;
    void checkPartitionSpec(draft.table, draft.alignmentSectors, spec, sizeBytes).then((check) => current && setPartitionCheck(check));
    return () => {
      current = false;
    };
  }, [sizeBytes, spec, draft.table, draft.alignmentSectors]);

  // Each step opens on its first field (the dialog itself opens on the first step's).
  useEffect(() => {
    focusFirstField(document.getElementById('wizard-form'));
  }, [step]);

  const stepValid: Record<Step, boolean> = draft.isoImage
    ? {
        disk: !isoCheck.isoVolumeId,
        partitions: true,
        filesystem: true,
        boot: Object.values(isoCheck).every((p) => !p),
        create: draft.path.trim() !== '',
      }
    : {
        disk: !!shape,
        partitions: !partitioned || (!!partitionCheck.partition && !partitionCheck.error),
        filesystem: fs === 'none' || !!fsPlan?.ok,
        boot: bootloader === 'none' || (!loaderProblem && Object.values(kernel).every((p) => !p)),
        create: draft.path.trim() !== '',
      };
  const canCreate = steps.every((s) => stepValid[s]);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (step !== 'create') {
      if (stepValid[step]) setStep(steps[Math.min(index + 1, steps.length - 1)]!);
      return;
    }
    void form.handleSubmit();
  };

  const browse = async () => {
    const chosen = await host?.choosePath({
      mode: 'save-image',
      title: 'Save the new image as',
      defaultPath: draft.isoImage ? 'myos.iso' : draft.kind === 'floppy' ? 'floppy.img' : 'disk.img',
    });
    if (chosen) form.set('path', chosen);
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
          {form.formError && (
            <p className="footer-error" role="alert" data-testid="create-error">
              {form.formError}
            </p>
          )}
          <button type="button" className="button" onClick={onClose} disabled={!!running}>
            Cancel
          </button>
          <button
            type="button"
            className="button"
            onClick={() => setStep(steps[Math.max(0, index - 1)]!)}
            disabled={index === 0 || !!running}
          >
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
        <form id="wizard-form" className="wizard-form" {...form.formProps} onSubmit={onSubmit}>
          {step === 'disk' && <DiskStep form={form} />}
          {step === 'partitions' && <PartitionStep form={form} />}
          {step === 'filesystem' && (
            <FilesystemStep form={form} fs={fs} planText={fsPlan?.text ?? null} volumeBytes={volume?.sizeBytes ?? null} />
          )}
          {step === 'boot' &&
            (draft.isoImage ? (
              <IsoBootStep form={isoFormApi(form)} />
            ) : (
              <BootStep form={form} bootloader={bootloader} fs={fs} choices={loaders} problem={loaderProblem} />
            ))}
          {step === 'create' && (shape || draft.isoImage) && (
            <>
              <Field label="Save as" error={form.errorOf('path')} hint="An image file that does not exist yet; its folder must exist.">
                {(control) => (
                  <div className="input-row">
                    <input
                      {...control}
                      {...form.bind('path')}
                      className="input mono"
                      placeholder={
                        draft.isoImage
                          ? '/home/you/os/myos.iso'
                          : draft.kind === 'floppy'
                            ? '/home/you/os/floppy.img'
                            : '/home/you/os/disk.img'
                      }
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
              {draft.isoImage ? (
                <label className="checkbox">
                  <input type="checkbox" checked disabled data-testid="save-recipe" />{' '}
                  <span>
                    Save the recipe beside the image
                    {isoRecipePath(draft.path) ? (
                      <span className="muted mono"> ({isoRecipePath(draft.path)!.split('/').pop()})</span>
                    ) : null}
                    : an ISO is built from it, here and by <code>loopstudio build</code>
                  </span>
                </label>
              ) : (
                <label className="checkbox">
                  <input
                    type="checkbox"
                    checked={draft.saveRecipe}
                    onChange={(e) => form.set('saveRecipe', e.target.checked)}
                    data-testid="save-recipe"
                  />{' '}
                  Save the recipe beside the image
                  {recipePathFor(draft.path) ? <span className="muted mono"> ({recipePathFor(draft.path)!.split('/').pop()})</span> : null},
                  so <code>loopstudio build</code> can make it again
                </label>
              )}
              <section aria-labelledby="summary-title" className="summary">
                <h3 id="summary-title" className="section-title">
                  Summary
                </h3>
                <ol data-testid="wizard-summary">
                  {(draft.isoImage || !shape ? isoSummaryLines(draft) : summaryLines(effective, shape, partitionCheck.partition)).map(
                    (line) => (
                      <li key={line}>{line}</li>
                    ),
                  )}
                </ol>
                <details className="show-commands" data-testid="wizard-commands">
                  <summary>Show commands</summary>
                  <pre className="mono">
                    {(draft.isoImage ? isoCommands(draft) : wizardCommands(effective, shapeCheck, partitionCheck)).join('\n')}
                  </pre>
                </details>
              </section>
            </>
          )}
        </form>
        {draft.isoImage ? (
          <IsoLayoutPanel values={draft} />
        ) : shape ? (
          <GeometryPanel
            shape={shape}
            report={shapeCheck.report}
            floppy={draft.kind === 'floppy' ? draft.floppy : null}
            partition={partitioned ? partitionCheck.partition : null}
            fileName={draft.path.split('/').pop() ?? ''}
          />
        ) : (
          <aside className="geometry" aria-label="Geometry">
            <h3 className="section-title">Geometry</h3>
            <p className="geometry-empty">Correct the numbers to see the cylinders, heads and sectors they make.</p>
          </aside>
        )}
      </div>
    </Dialog>
  );
}

type WizardFormState = Form<Draft>;

/** A text field of the wizard: its label, its problem at it, the rest as given. */
function TextField({
  form,
  name,
  label,
  hint,
  testId,
  className = 'input mono',
  ...rest
}: {
  form: WizardFormState;
  name: 'size' | 'cylinders' | 'heads' | 'sectorsPerTrack' | 'partitionStart' | 'partitionSize' | 'label';
  label: string;
  hint?: string;
  testId?: string;
  className?: string;
  disabled?: boolean;
  inputMode?: 'numeric';
  placeholder?: string;
}) {
  return (
    <Field label={label} error={form.errorOf(name)} hint={hint} testId={testId}>
      {(control) => <input {...control} {...form.bind(name)} className={className} spellCheck={false} {...rest} />}
    </Field>
  );
}

function DiskStep({ form }: { form: WizardFormState }) {
  const v = form.values;
  return (
    <>
      <fieldset className="choice-group">
        <legend>Kind of image</legend>
        <label className="choice">
          <input
            type="radio"
            name="kind"
            checked={!v.isoImage && v.kind === 'floppy'}
            onChange={() => form.setValues((d) => ({ ...d, kind: 'floppy', isoImage: false }))}
          />{' '}
          Floppy
        </label>
        <label className="choice">
          <input
            type="radio"
            name="kind"
            checked={!v.isoImage && v.kind === 'disk'}
            onChange={() => form.setValues((d) => ({ ...d, kind: 'disk', isoImage: false }))}
          />{' '}
          Hard disk
        </label>
        <label className="choice">
          <input type="radio" name="kind" checked={v.isoImage} onChange={() => form.set('isoImage', true)} data-testid="kind-iso" />{' '}
          Bootable ISO (CD/USB)
        </label>
      </fieldset>
      {v.isoImage ? (
        <IsoDiskFields form={isoFormApi(form)} />
      ) : v.kind === 'floppy' ? (
        <fieldset className="choice-group presets">
          <legend>Floppy format</legend>
          {FLOPPY_PRESET_NAMES.map((name) => (
            <label key={name} className="choice preset">
              <input type="radio" name="floppy" checked={v.floppy === name} onChange={() => form.set('floppy', name)} />
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
              <input type="radio" name="by" checked={v.by === 'size'} onChange={() => form.set('by', 'size')} /> By size
            </label>
            <label className="choice">
              <input type="radio" name="by" checked={v.by === 'chs'} onChange={() => form.set('by', 'chs')} /> By cylinders, heads and
              sectors
            </label>
          </fieldset>
          {v.by === 'size' ? (
            <div className="form-grid">
              <TextField
                form={form}
                name="size"
                label="Size"
                hint="64M and 64MiB are binary (2²⁰), 64MB is decimal; 2048s is sectors."
                testId="size-field"
              />
              <label className="checkbox">
                <input type="checkbox" checked={v.wholeCylinders} onChange={(e) => form.set('wholeCylinders', e.target.checked)} /> Round up
                to whole cylinders of
              </label>
              <div className="number-row">
                <TextField
                  form={form}
                  name="heads"
                  label="Heads"
                  className="input mono narrow"
                  disabled={!v.wholeCylinders}
                  inputMode="numeric"
                  testId="heads-field"
                />
                <TextField
                  form={form}
                  name="sectorsPerTrack"
                  label="Sectors per track"
                  className="input mono narrow"
                  disabled={!v.wholeCylinders}
                  inputMode="numeric"
                  testId="sectors-field"
                />
              </div>
            </div>
          ) : (
            <div className="number-row">
              <TextField
                form={form}
                name="cylinders"
                label="Cylinders"
                className="input mono narrow"
                inputMode="numeric"
                testId="chs-field"
              />
              <TextField form={form} name="heads" label="Heads" className="input mono narrow" inputMode="numeric" testId="heads-field" />
              <TextField
                form={form}
                name="sectorsPerTrack"
                label="Sectors per track"
                className="input mono narrow"
                inputMode="numeric"
                testId="sectors-field"
              />
            </div>
          )}
        </>
      )}
    </>
  );
}

function PartitionStep({ form }: { form: WizardFormState }) {
  const v = form.values;
  return (
    <>
      <fieldset className="choice-group">
        <legend>Partition table</legend>
        <label className="choice">
          <input type="radio" name="table" checked={v.table === 'mbr'} onChange={() => form.set('table', 'mbr')} /> MBR
        </label>
        <label className="choice">
          <input type="radio" name="table" checked={v.table === 'gpt'} onChange={() => form.set('table', 'gpt')} /> GPT
        </label>
        <label className="choice">
          <input type="radio" name="table" checked={v.table === 'none'} onChange={() => form.set('table', 'none')} /> None (one filesystem
          on the whole disk)
        </label>
      </fieldset>
      {v.table !== 'none' && (
        <>
          <fieldset className="choice-group">
            <legend>Alignment</legend>
            <label className="choice">
              <input type="radio" name="align" checked={v.alignmentSectors === 2048} onChange={() => form.set('alignmentSectors', 2048)} />{' '}
              2048 sectors (1 MiB, modern)
            </label>
            <label className="choice">
              <input type="radio" name="align" checked={v.alignmentSectors === 63} onChange={() => form.set('alignmentSectors', 63)} /> 63
              sectors (one track, as DOS fdisk)
            </label>
          </fieldset>
          <h3 className="section-title">First partition</h3>
          <div className="form-grid two">
            <TextField
              form={form}
              name="partitionStart"
              label="Start sector"
              hint={`Empty: sector ${v.alignmentSectors}.`}
              testId="partition-start-field"
              placeholder={String(v.alignmentSectors)}
              inputMode="numeric"
            />
            <TextField form={form} name="partitionSize" label="Size" hint="rest, a number of sectors, or a size such as 20M." />
            <Field
              label="Type"
              hint={
                v.table === 'mbr' ? 'Hex id (83, 0c …) or name; automatic follows the filesystem.' : 'linux, msdata, efi, bios … or a GUID.'
              }
            >
              {(control) => (
                <input
                  {...control}
                  className="input mono"
                  value={v.partitionType}
                  onChange={(e) => form.set('partitionType', e.target.value.trim() || 'auto')}
                  spellCheck={false}
                />
              )}
            </Field>
            <label className="checkbox">
              <input type="checkbox" checked={v.bootable} onChange={(e) => form.set('bootable', e.target.checked)} /> Bootable
            </label>
          </div>
        </>
      )}
    </>
  );
}

function FilesystemStep({
  form,
  fs,
  planText,
  volumeBytes,
}: {
  form: WizardFormState;
  fs: FsType | 'none';
  planText: string | null;
  volumeBytes: number | null;
}) {
  const v = form.values;
  const error = form.errorOf('fs');
  return (
    <div className="form-grid">
      <p className="muted">
        On {v.kind === 'floppy' ? 'the whole floppy' : v.table === 'none' ? 'the whole disk' : 'partition 1'}
        {volumeBytes !== null ? ` (${formatBytes(volumeBytes)})` : ''}.
      </p>
      <Field label="Filesystem" error={error} hint={!error && planText ? planText : undefined} testId="fs-field">
        {(control) => (
          <select {...control} className="input" value={fs} onChange={(e) => form.set('fs', e.target.value as FsType | 'none')}>
            {FS_TYPES.map((t) => (
              <option key={t} value={t}>
                {FS_LABELS[t]}
              </option>
            ))}
            <option value="none">None (leave it unformatted)</option>
          </select>
        )}
      </Field>
      {fs !== 'none' && (
        <TextField
          form={form}
          name="label"
          label="Label"
          className="input"
          hint={fs === 'ext2' ? 'Up to 16 characters.' : 'Up to 11 characters, stored in capitals.'}
        />
      )}
    </div>
  );
}

function BootStep({
  form,
  bootloader,
  fs,
  choices,
  problem,
}: {
  form: WizardFormState;
  bootloader: WizardLoader;
  fs: FsType | 'none';
  choices: LoaderChoice[];
  problem: string | null;
}) {
  const v = form.values;
  return (
    <div className="form-grid">
      <fieldset className="choice-group stacked" aria-describedby={problem ? 'loader-problem' : undefined}>
        <legend>Boot loader</legend>
        {choices.map((c) => (
          <label key={c.id} className="choice" title={c.unavailable ?? undefined}>
            <input
              type="radio"
              name="bootloader"
              checked={bootloader === c.id}
              onChange={() => form.set('bootloader', c.id)}
              disabled={c.unavailable !== null && bootloader !== c.id}
            />
            <span>
              <strong>{c.label}</strong> <span className="muted">{c.unavailable ?? loaderHint(c.id, v)}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {problem && (
        <p id="loader-problem" className="field-error" role="alert">
          {problem}
        </p>
      )}
      {bootloader !== 'none' && fs !== 'none' && (
        <>
          <h3 className="section-title">Kernel</h3>
          <KernelEntryFields
            entry={v}
            set={(key, value) => form.set(key, value as Draft[typeof key])}
            errorOf={(key) => form.errorOf(key)}
            leave={(key) => form.leave(key)}
            loader={bootloader}
            needsFile
            titlePlaceholder={v.label.trim() || 'My OS'}
          />
        </>
      )}
    </div>
  );
}
