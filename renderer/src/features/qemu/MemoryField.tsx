import { useId, useState } from 'react';
import { QEMU_MEMORY_MAX_MIB, QEMU_MEMORY_MIN_MIB } from '../../../../shared/api/qemu-plain';

/** The memory's problem in words, or null: "128" is fine, "12a", "0" and "" are not. */
export function memoryProblem(text: string): string | null {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (/^\d+$/.test(trimmed) && value >= QEMU_MEMORY_MIN_MIB && value <= QEMU_MEMORY_MAX_MIB) return null;
  return `Memory: a whole number of MiB from ${QEMU_MEMORY_MIN_MIB} to ${QEMU_MEMORY_MAX_MIB}, such as 128.`;
}

/**
 * The guest's memory in MiB: a text field that keeps what is typed ("1", "12", "128" on the way
 * to 128 — a number field that refused each step mangled it), takes each whole value in range as
 * it comes, and says what is wrong when the field is left with something else.
 */
export function MemoryField({
  value,
  onChange,
  onProblem,
}: {
  value: number;
  onChange: (mib: number) => void;
  onProblem?: (problem: string | null) => void;
}) {
  const id = useId();
  const [text, setText] = useState(String(value));
  const [shown, setShown] = useState<string | null>(null);
  // The value changed elsewhere (another image's choices, a reset): show it.
  const [seen, setSeen] = useState(value);
  if (value !== seen) {
    setSeen(value);
    if (memoryProblem(text) !== null || Number(text) !== value) setText(String(value));
  }
  const problem = memoryProblem(text);
  return (
    <span className="inline-field memory-field">
      <label htmlFor={id}>Memory (MiB)</label>
      <input
        id={id}
        className="input mono narrow"
        type="text"
        inputMode="numeric"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          const next = memoryProblem(e.target.value);
          onProblem?.(next);
          if (next === null) {
            setShown(null);
            onChange(Number(e.target.value.trim()));
          }
        }}
        onBlur={() => setShown(problem)}
        aria-invalid={shown ? true : undefined}
        aria-describedby={shown ? `${id}-error` : undefined}
        spellCheck={false}
        data-testid="qemu-memory"
      />
      {shown && (
        <span id={`${id}-error`} className="field-error" role="alert">
          {shown}
        </span>
      )}
    </span>
  );
}
