import { useId, useState, type FormEvent } from 'react';
import type { ImageInfo } from '../../../../shared/api/contract';
import { GPT_PARTITION_TYPES } from '../../../../shared/disk/gpt/types';
import { isExtendedType, MBR_PARTITION_TYPES } from '../../../../shared/disk/partition-types';
import { parseSectorCount, parseSectorOffset } from '../../../../shared/disk/sizes';
import { stageEdit, usePartitionsStore } from '../../stores/partitions';
import { errorText } from '../common/errors';
import { Field } from '../common/Field';
import { formatBytes } from '../common/format';
import type { Partition, Segment } from '../image/segments';
import { continuesLastResize, gptNameProblem, resizeEdit, type MbrKind, type StagedEdit, type TableKind } from './edits';

/**
 * The partition editor's forms: a new partition in free space, and the selected partition's
 * extent, type and flag. Numbers are typed (sectors, or sizes with a unit); each change is
 * staged only after the service's dry run accepts it with all the others, and its refusal is
 * shown under the fields that asked.
 */

function TypeSelect({ table, value, onChange, control }: { table: TableKind; value: string; onChange: (v: string) => void; control: object }) {
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

/** Start and size as typed: sectors, or sizes with a unit ("20M"). Throws the parser's message. */
function parseNumbers(numbers: Numbers): { startSector: number; sectorCount: number } {
  const startSector = parseSectorOffset(numbers.start);
  const sectorCount = parseSectorCount(numbers.size);
  if (sectorCount < 1) throw new Error('A partition needs at least one sector.');
  return { startSector, sectorCount };
}

/** parseNumbers, with its message passed to `setError` (and null) when the numbers do not parse. */
function parseNumbersOr(numbers: Numbers, setError: (message: string) => void): { startSector: number; sectorCount: number } | null {
  try {
    return parseNumbers(numbers);
  } catch (e) {
    setError(errorText(e));
    return null;
  }
}

/** Start and size, with one message under both when the dry run refuses them (it names sectors and partitions). */
function ExtentFields({ numbers, setNumbers, error }: { numbers: Numbers; setNumbers: (n: Numbers) => void; error: string | null }) {
  const id = useId();
  const end = (() => {
    try {
      const n = parseNumbers(numbers);
      return `Ends at sector ${n.startSector + n.sectorCount - 1}: ${formatBytes(n.sectorCount * 512)}.`;
    } catch {
      return 'Sectors, or a size such as 20M.';
    }
  })();
  const invalid = error ? true : undefined;
  return (
    <div className={`extent-fields${error ? ' has-error' : ''}`} data-testid="extent-fields">
      <div className="field">
        <label htmlFor={`${id}-start`}>Start sector</label>
        <input
          id={`${id}-start`}
          className="input mono"
          value={numbers.start}
          onChange={(e) => setNumbers({ ...numbers, start: e.target.value })}
          spellCheck={false}
          aria-invalid={invalid}
          aria-describedby={error ? `${id}-error` : undefined}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-size`}>Size in sectors</label>
        <input
          id={`${id}-size`}
          className="input mono"
          value={numbers.size}
          onChange={(e) => setNumbers({ ...numbers, size: e.target.value })}
          spellCheck={false}
          aria-invalid={invalid}
          aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
        />
      </div>
      <p id={`${id}-hint`} className="field-hint extent-hint">
        {end}
      </p>
      {error && (
        <p id={`${id}-error`} className="field-error extent-error" role="alert" data-testid="extent-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function AddForm({ info, table, segment, alignment, onStaged }: { info: ImageInfo; table: TableKind; segment: Extract<Segment, { kind: 'free' }>; alignment: number; onStaged: () => void }) {
  const alignedStart = Math.ceil((segment.startSector + (segment.inExtended ? 1 : 0)) / alignment) * alignment;
  const lastSector = segment.startSector + segment.sectorCount - 1;
  const [numbers, setNumbers] = useState<Numbers>({ start: String(alignedStart), size: String(Math.max(1, lastSector - alignedStart + 1)) });
  const [kind, setKind] = useState<MbrKind>(segment.inExtended ? 'logical' : 'primary');
  const [type, setType] = useState(table === 'mbr' ? '83' : GPT_PARTITION_TYPES[2]!.guid);
  const [name, setName] = useState('');
  const [bootable, setBootable] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const checking = usePartitionsStore((s) => s.checking);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const extent = parseNumbersOr(numbers, setError);
    if (!extent) return;
    const nameProblem = table === 'gpt' ? gptNameProblem(name) : null;
    if (nameProblem) return setError(nameProblem);
    const edit: StagedEdit = { op: 'add', ...extent, type: kind === 'extended' ? '05' : type, bootable, ...(table === 'mbr' ? { kind } : { name }) };
    const refusal = await stageEdit(info, edit);
    setError(refusal);
    if (!refusal) onStaged();
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate data-testid="add-form" aria-labelledby="add-title">
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
              <input type="radio" name="add-kind" checked={kind === k} onChange={() => setKind(k)} /> {k}
            </label>
          ))}
        </fieldset>
      )}
      <ExtentFields numbers={numbers} setNumbers={setNumbers} error={error} />
      {kind !== 'extended' && <Field label="Type">{(control) => <TypeSelect table={table} value={type} onChange={setType} control={control} />}</Field>}
      {table === 'gpt' && <Field label="Name">{(control) => <input {...control} className="input" value={name} onChange={(e) => setName(e.target.value)} />}</Field>}
      {kind !== 'extended' && (
        <label className="checkbox">
          <input type="checkbox" checked={bootable} onChange={(e) => setBootable(e.target.checked)} /> Bootable
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

export function PartitionForm({ info, table, partition, onDeleted }: { info: ImageInfo; table: TableKind; partition: Partition; onDeleted: () => void }) {
  const [numbers, setNumbers] = useState<Numbers>({ start: String(partition.startSector), size: String(partition.sectorCount) });
  const [type, setType] = useState(partition.type);
  const [bootable, setBootable] = useState(partition.bootable);
  const [error, setError] = useState<string | null>(null);
  const [setError2, setSetError] = useState<string | null>(null);
  const checking = usePartitionsStore((s) => s.checking);
  const extended = partition.kind === 'extended';

  const stage = async (edit: StagedEdit, show: (e: string | null) => void) => {
    const refusal = await stageEdit(info, edit, { replaceLast: continuesLastResize(usePartitionsStore.getState().staged, edit, partition) });
    show(refusal);
    return refusal === null;
  };

  const resize = async (event: FormEvent) => {
    event.preventDefault();
    const extent = parseNumbersOr(numbers, setError);
    if (!extent) return;
    if (extent.startSector === partition.startSector && extent.sectorCount === partition.sectorCount) {
      setError('Start and size are as they are now: type new numbers to resize or move the partition.');
      return;
    }
    await stage(resizeEdit(partition.index, extent), setError);
  };

  const settingsChanged = type !== partition.type || bootable !== partition.bootable;

  return (
    <div data-testid="partition-form">
      <h3 className="section-title">
        Partition {partition.index} · {partition.typeName}
        {partition.filesystem ? ` · ${partition.filesystem.type.toUpperCase()}` : ''}
      </h3>
      <form onSubmit={(e) => void resize(e)} noValidate aria-label={`Resize or move partition ${partition.index}`}>
        <ExtentFields numbers={numbers} setNumbers={setNumbers} error={error} />
        <p className="field-hint">The table entry changes; the data inside does not move, and a filesystem keeps its size.</p>
        <div className="button-row">
          <button type="submit" className="button" disabled={checking}>
            Stage: resize / move
          </button>
        </div>
      </form>
      {!extended && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (!settingsChanged) return setSetError('Change the type or the bootable flag first.');
            void stage({ op: 'set', number: partition.index, ...(type !== partition.type ? { type } : {}), ...(bootable !== partition.bootable ? { bootable } : {}) }, setSetError);
          }}
          noValidate
          aria-label={`Type and bootable flag of partition ${partition.index}`}
          className="settings-form"
        >
          <Field label="Type" error={setError2}>
            {(control) => <TypeSelect table={table} value={type} onChange={setType} control={control} />}
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={bootable} onChange={(e) => setBootable(e.target.checked)} /> Bootable
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
          onClick={() => void stage({ op: 'delete', number: partition.index }, setError).then((ok) => ok && onDeleted())}
        >
          Stage: delete partition {partition.index}
        </button>
      </div>
    </div>
  );
}
