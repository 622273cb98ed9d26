import { useEffect, useId, useState } from 'react';
import type { ImageInfo } from '../../../../shared/api/contract';
import { GPT_PARTITION_TYPES } from '../../../../shared/disk/gpt/types';
import { isExtendedType, MBR_PARTITION_TYPES } from '../../../../shared/disk/partition-types';
import { parseSectorCount, parseSectorOffset } from '../../../../shared/disk/sizes';
import { checkEdit, stageEdit, usePartitionsStore } from '../../stores/partitions';
import { errorText } from '../common/errors';
import { Field } from '../common/Field';
import { formatBytes, formatCount } from '../common/format';
import { useForm, type FieldBinding, type FieldErrors } from '../common/useForm';
import type { Partition, Segment } from '../image/segments';
import { continuesLastResize, gptNameProblem, resizeEdit, type MbrKind, type StagedEdit, type TableKind } from './edits';

/**
 * The partition editor's forms: a new partition in free space, and the selected partition's
 * extent, type and flag. Numbers are typed (sectors, or sizes with a unit); what does not parse
 * is said at its own field when the field is left or the form submitted; the numbers that parse
 * are checked as they are typed by the service's dry run with every staged change (an overlap is
 * said before Stage is pressed), and each change is staged only after that dry run accepts it.
 */

function TypeSelect({
  table,
  value,
  onChange,
  control,
}: {
  table: TableKind;
  value: string;
  onChange: (v: string) => void;
  control: object;
}) {
  if (table === 'gpt') {
    const known = GPT_PARTITION_TYPES.some((t) => t.guid === value.toUpperCase());
    return (
      <select {...control} className="input" value={value.toUpperCase()} onChange={(e) => onChange(e.target.value)}>
        {!known && <option value={value.toUpperCase()}>{value}</option>}
        {GPT_PARTITION_TYPES.map((t) => (
          <option key={t.guid} value={t.guid}>
            {t.name} ({t.sgdiskCode})
          </option>
        ))}
      </select>
    );
  }
  const known = MBR_PARTITION_TYPES.some((t) => t.id.toString(16).padStart(2, '0') === value);
  return (
    <select {...control} className="input" value={value} onChange={(e) => onChange(e.target.value)}>
      {!known && <option value={value}>{value}</option>}
      {MBR_PARTITION_TYPES.filter((t) => t.id !== 0 && !isExtendedType(t.id)).map((t) => {
        const hex = t.id.toString(16).padStart(2, '0');
        return (
          <option key={hex} value={hex}>
            {hex} {t.name}
          </option>
        );
      })}
    </select>
  );
}

interface Numbers {
  start: string;
  size: string;
}

/** The start's problem in words, at its field: "abc" is not a sector. */
export function startProblem(text: string): string | null {
  const trimmed = text.trim();
  try {
    parseSectorOffset(trimmed);
    return null;
  } catch (error) {
    if (/^\d/.test(trimmed) && !/^\d+$/.test(trimmed) && /boundary/.test(errorText(error))) return `Start sector: ${errorText(error)}`;
    return `Start sector: a sector number such as 2048, or an offset with a unit such as 1M${trimmed ? `, not “${trimmed}”` : ''}.`;
  }
}

/** The size's problem in words, at its field. */
export function sizeProblem(text: string): string | null {
  const trimmed = text.trim();
  try {
    if (parseSectorCount(trimmed) < 1) return 'Size: a partition needs at least one sector.';
    return null;
  } catch {
    return `Size: a number of sectors such as 20480, or a size with a unit such as 10M${trimmed ? `, not “${trimmed}”` : ''}.`;
  }
}

function numberProblems(numbers: Numbers): FieldErrors<Numbers> {
  return { start: startProblem(numbers.start), size: sizeProblem(numbers.size) };
}

/** Start and size as typed, in sectors, or null while either does not parse. */
function extentOf(numbers: Numbers): { startSector: number; sectorCount: number } | null {
  if (startProblem(numbers.start) || sizeProblem(numbers.size)) return null;
  return { startSector: parseSectorOffset(numbers.start), sectorCount: parseSectorCount(numbers.size) };
}

/**
 * The dry run's refusal of `edit` (with every staged change), asked a moment after the numbers
 * stop changing: null while they are fine, or not checked yet. A refusal Stage got is shown too,
 * until the numbers change.
 */
function useRefusal(info: ImageInfo, edit: StagedEdit | null, replaceLast: boolean) {
  const staged = usePartitionsStore((s) => s.staged);
  const key = edit ? JSON.stringify({ edit, replaceLast, staged: staged.length }) : null;
  const [live, setLive] = useState<{ key: string; refusal: string | null } | null>(null);
  const [fromStage, setFromStage] = useState<{ key: string | null; refusal: string } | null>(null);
  // The key says everything the check depends on: the edit, whether it replaces the last one, what is staged.
  useEffect(() => {
    if (!key) return;
    const asked = JSON.parse(key) as { edit: StagedEdit; replaceLast: boolean };
    let current = true;
    const timer = window.setTimeout(
      () => void checkEdit(info, asked.edit, { replaceLast: asked.replaceLast }).then((refusal) => current && setLive({ key, refusal })),
      250,
    );
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [key, info]);
  const refusal = (live?.key === key ? live.refusal : null) ?? (fromStage?.key === key ? fromStage.refusal : null);
  return { refusal, staged: (text: string | null) => setFromStage(text === null ? null : { key, refusal: text }) };
}

/** Start and size, each with its own problem; the dry run's refusal (it names sectors and partitions) under both. */
function ExtentFields({
  form,
  refusal,
}: {
  form: { values: Numbers; bind: (key: keyof Numbers) => FieldBinding; errorOf: (key: keyof Numbers) => string | null };
  refusal: string | null;
}) {
  const id = useId();
  const extent = extentOf(form.values);
  const startError = form.errorOf('start');
  const sizeError = form.errorOf('size');
  const end = extent
    ? `Ends at sector ${extent.startSector + extent.sectorCount - 1}: ${formatBytes(extent.sectorCount * 512)} (${formatCount(extent.sectorCount)} sectors).`
    : 'Sectors, or a size such as 20M.';
  const describedBy = (own: string | null, hint: boolean) =>
    [own ? `${id}-own` : null, hint ? `${id}-hint` : null, refusal ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`extent-fields${refusal || startError || sizeError ? ' has-error' : ''}`} data-testid="extent-fields">
      <div className="field">
        <label htmlFor={`${id}-start`}>Start sector</label>
        <input
          id={`${id}-start`}
          className="input mono"
          {...form.bind('start')}
          spellCheck={false}
          aria-invalid={startError || refusal ? true : undefined}
          aria-describedby={describedBy(startError, false)?.replace(`${id}-own`, `${id}-start-error`)}
        />
        {startError && (
          <p id={`${id}-start-error`} className="field-error" role="alert" data-testid="start-error">
            {startError}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor={`${id}-size`}>Size in sectors, or 20M</label>
        <input
          id={`${id}-size`}
          className="input mono"
          {...form.bind('size')}
          spellCheck={false}
          aria-invalid={sizeError || refusal ? true : undefined}
          aria-describedby={describedBy(sizeError, true)?.replace(`${id}-own`, `${id}-size-error`)}
        />
        {sizeError && (
          <p id={`${id}-size-error`} className="field-error" role="alert" data-testid="size-error">
            {sizeError}
          </p>
        )}
      </div>
      <p id={`${id}-hint`} className="field-hint extent-hint">
        {end}
      </p>
      {refusal && (
        <p id={`${id}-error`} className="field-error extent-error" role="alert" data-testid="extent-error">
          {refusal}
        </p>
      )}
    </div>
  );
}

interface AddValues extends Numbers {
  kind: MbrKind;
  type: string;
  name: string;
  bootable: boolean;
}

export function AddForm({
  info,
  table,
  segment,
  alignment,
  onStaged,
}: {
  info: ImageInfo;
  table: TableKind;
  segment: Extract<Segment, { kind: 'free' }>;
  alignment: number;
  /** The change was staged: the editor selects the new partition. */
  onStaged: (edit: Extract<StagedEdit, { op: 'add' }>) => void;
}) {
  const alignedStart = Math.ceil((segment.startSector + (segment.inExtended ? 1 : 0)) / alignment) * alignment;
  const lastSector = segment.startSector + segment.sectorCount - 1;
  const checking = usePartitionsStore((s) => s.checking);
  const editOf = (v: AddValues): Extract<StagedEdit, { op: 'add' }> | null => {
    const extent = extentOf(v);
    if (!extent) return null;
    return {
      op: 'add',
      ...extent,
      type: v.kind === 'extended' ? '05' : v.type,
      bootable: v.bootable,
      ...(table === 'mbr' ? { kind: v.kind } : { name: v.name }),
    };
  };
  const form = useForm<AddValues>({
    initial: () => ({
      start: String(alignedStart),
      size: String(Math.max(1, lastSector - alignedStart + 1)),
      kind: segment.inExtended ? 'logical' : 'primary',
      type: table === 'mbr' ? '83' : GPT_PARTITION_TYPES[2]!.guid,
      name: '',
      bootable: false,
    }),
    validate: (v) => ({ ...numberProblems(v), name: table === 'gpt' ? gptNameProblem(v.name) : null }),
    submit: async (v) => {
      const edit = editOf(v)!;
      const refused = await stageEdit(info, edit);
      check.staged(refused);
      if (!refused) onStaged(edit);
    },
  });
  const v = form.values;
  const check = useRefusal(info, editOf(v), false);

  return (
    <form {...form.formProps} data-testid="add-form" aria-labelledby="add-title">
      <h3 id="add-title" className="section-title">
        New partition in free space
      </h3>
      <p className="muted">
        Free: sectors {segment.startSector}–{lastSector} ({formatBytes(segment.sectorCount * 512)}).
      </p>
      {table === 'mbr' && (
        <fieldset className="choice-group">
          <legend>Kind</legend>
          {(segment.inExtended ? (['logical'] as const) : (['primary', 'extended'] as const)).map((k) => (
            <label key={k} className="choice">
              <input type="radio" name="add-kind" checked={v.kind === k} onChange={() => form.set('kind', k)} /> {k}
            </label>
          ))}
        </fieldset>
      )}
      <ExtentFields form={form} refusal={check.refusal} />
      {v.kind !== 'extended' && (
        <Field label="Type">
          {(control) => <TypeSelect table={table} value={v.type} onChange={(t) => form.set('type', t)} control={control} />}
        </Field>
      )}
      {table === 'gpt' && (
        <Field label="Name" error={form.errorOf('name')}>
          {(control) => <input {...control} {...form.bind('name')} className="input" />}
        </Field>
      )}
      {v.kind !== 'extended' && (
        <label className="checkbox">
          <input type="checkbox" checked={v.bootable} onChange={(e) => form.set('bootable', e.target.checked)} /> Bootable
        </label>
      )}
      <div className="button-row">
        <button type="submit" className="button primary" disabled={checking}>
          {checking ? 'Checking…' : 'Stage: add partition'}
        </button>
      </div>
    </form>
  );
}

export function PartitionForm({
  info,
  table,
  partition,
  onDeleted,
}: {
  info: ImageInfo;
  table: TableKind;
  partition: Partition;
  onDeleted: () => void;
}) {
  const checking = usePartitionsStore((s) => s.checking);
  const extended = partition.kind === 'extended';
  const resizeOf = (numbers: Numbers) => {
    const extent = extentOf(numbers);
    return extent && (extent.startSector !== partition.startSector || extent.sectorCount !== partition.sectorCount)
      ? resizeEdit(partition.index, extent)
      : null;
  };
  const replaceLast = (edit: StagedEdit) => continuesLastResize(usePartitionsStore.getState().staged, edit, partition);

  const extentForm = useForm<Numbers>({
    initial: () => ({ start: String(partition.startSector), size: String(partition.sectorCount) }),
    validate: numberProblems,
    submit: async (numbers) => {
      const edit = resizeOf(numbers);
      if (!edit) return check.staged('Start and size are as they are now: type new numbers to resize or move the partition.');
      check.staged(await stageEdit(info, edit, { replaceLast: replaceLast(edit) }));
    },
  });
  const resize = resizeOf(extentForm.values);
  const check = useRefusal(info, resize, resize ? replaceLast(resize) : false);

  // The partition moved (this form's resize, a drag in the bar, Undo): the fields show where it is now.
  const [shown, setShown] = useState({ start: partition.startSector, size: partition.sectorCount });
  if (shown.start !== partition.startSector || shown.size !== partition.sectorCount) {
    setShown({ start: partition.startSector, size: partition.sectorCount });
    extentForm.setValues({ start: String(partition.startSector), size: String(partition.sectorCount) });
  }

  const settings = useForm({
    initial: () => ({ type: partition.type, bootable: partition.bootable }),
    submit: async (v) => {
      if (v.type === partition.type && v.bootable === partition.bootable) throw new Error('Change the type or the bootable flag first.');
      const refused = await stageEdit(info, {
        op: 'set',
        number: partition.index,
        ...(v.type !== partition.type ? { type: v.type } : {}),
        ...(v.bootable !== partition.bootable ? { bootable: v.bootable } : {}),
      });
      if (refused) throw new Error(refused);
    },
    fieldOf: () => 'type' as const,
  });

  const [deleteError, setDeleteError] = useState<string | null>(null);

  return (
    <div data-testid="partition-form">
      <h3 className="section-title">
        Partition {partition.index} · {partition.typeName}
        {partition.filesystem ? ` · ${partition.filesystem.type.toUpperCase()}` : ''}
      </h3>
      <form {...extentForm.formProps} aria-label={`Resize or move partition ${partition.index}`}>
        <ExtentFields form={extentForm} refusal={check.refusal} />
        <p className="field-hint">The table entry changes; the data inside does not move, and a filesystem keeps its size.</p>
        <div className="button-row">
          <button type="submit" className="button" disabled={checking}>
            Stage: resize / move
          </button>
        </div>
      </form>
      {!extended && (
        <form {...settings.formProps} aria-label={`Type and bootable flag of partition ${partition.index}`} className="settings-form">
          <Field label="Type" error={settings.errorOf('type')}>
            {(control) => (
              <TypeSelect table={table} value={settings.values.type} onChange={(t) => settings.set('type', t)} control={control} />
            )}
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={settings.values.bootable} onChange={(e) => settings.set('bootable', e.target.checked)} />{' '}
            Bootable
          </label>
          <div className="button-row">
            <button type="submit" className="button" disabled={checking}>
              Stage: set type and flag
            </button>
          </div>
        </form>
      )}
      <div className="button-row">
        <button
          type="button"
          className="button danger"
          disabled={checking}
          onClick={() =>
            void stageEdit(info, { op: 'delete', number: partition.index }).then((refused) => {
              setDeleteError(refused);
              if (!refused) onDeleted();
            })
          }
        >
          Stage: delete partition {partition.index}
        </button>
      </div>
      {deleteError && (
        <p className="field-error" role="alert">
          {deleteError}
        </p>
      )}
    </div>
  );
}
