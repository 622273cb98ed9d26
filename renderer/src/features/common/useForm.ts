import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import { errorText } from './errors';

/** Each field's problem in words ("Heads: a whole number from 1 to 255."), or nothing. */
export type FieldErrors<V> = Partial<Record<keyof V, string | null>>;

export interface FormOptions<V> {
  initial: V | (() => V);
  /**
   * Every field's problem, worked out from the values as they are: all of them at once, each
   * shown at its own field. Typed text is kept as typed (a number field holds "12a" until it is
   * corrected); problems appear when a changed field is left, or the form is submitted.
   */
  validate?: (values: V) => FieldErrors<V>;
  /** Show each problem (or these fields' problems) as the person types: fields whose every keystroke redraws a preview. */
  live?: boolean | readonly (keyof V)[];
  /** The work: a service call. A throw is shown at the field `fieldOf` names, else under the form. */
  submit: (values: V) => Promise<void> | void;
  fieldOf?: (error: unknown) => keyof V | null;
}

export interface FieldBinding {
  value: string;
  onChange: (event: ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => void;
  onBlur: () => void;
}

/**
 * The renderer's one form: values, their problems at their fields, and submit with busy and the
 * refusal — the shape every dialog repeated (`setBusy(true); try … catch setError … finally
 * setBusy(false)`). After a refused submit, focus goes to the first field with a problem.
 */
export function useForm<V extends object>(options: FormOptions<V>) {
  const [values, setValues] = useState<V>(options.initial);
  const [left, setLeft] = useState<ReadonlySet<keyof V>>(() => new Set());
  const [submits, setSubmits] = useState(0);
  const [refused, setRefused] = useState<FieldErrors<V>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  // Worked out when first asked for in a render (by then a caller's validate can use everything
  // the component computed from the values after this hook).
  let worked: FieldErrors<V> | null = null;
  const problems = (): FieldErrors<V> => (worked ??= options.validate?.(values) ?? {});
  const isValid = () => !Object.values(problems()).some(Boolean);

  // A refused submit: the first field that says why takes the focus.
  const [focusAfter, setFocusAfter] = useState(0);
  useEffect(() => {
    if (focusAfter === 0) return;
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [focusAfter]);

  const live = (key: keyof V) => options.live === true || (Array.isArray(options.live) && options.live.includes(key));
  const errorOf = (key: keyof V): string | null =>
    refused[key] ?? (live(key) || submits > 0 || left.has(key) ? (problems()[key] ?? null) : null);

  const set = <K extends keyof V>(key: K, value: V[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    if (refused[key]) setRefused((r) => ({ ...r, [key]: null }));
    setFormError(null);
  };

  // A field left as it was (empty, say) is not a mistake yet: its problem waits for the submit. A
  // message appearing on blur would also move what the pointer is about to click.
  const [start] = useState(values);
  const leave = (key: keyof V) => {
    if (values[key] !== start[key]) setLeft((l) => (l.has(key) ? l : new Set(l).add(key)));
  };

  /** value / onChange / onBlur for a text field or a select of strings. */
  const bind = (key: keyof V): FieldBinding => ({
    value: values[key] as string,
    onChange: (event) => set(key, event.target.value as V[typeof key]),
    onBlur: () => leave(key),
  });

  const handleSubmit = async (event?: FormEvent) => {
    event?.preventDefault();
    setSubmits((n) => n + 1);
    if (!isValid()) {
      setFocusAfter((n) => n + 1);
      return;
    }
    setBusy(true);
    setFormError(null);
    try {
      await options.submit(values);
    } catch (error) {
      const field = options.fieldOf?.(error) ?? null;
      if (field !== null) {
        setRefused((r) => ({ ...r, [field]: errorText(error) }));
        setFocusAfter((n) => n + 1);
      } else {
        setFormError(errorText(error));
      }
    } finally {
      setBusy(false);
    }
  };

  return {
    values,
    set,
    setValues,
    bind,
    leave,
    errorOf,
    problems,
    isValid,
    busy,
    formError,
    setFormError,
    /** A refusal from the services that belongs at a field. */
    setFieldError: (key: keyof V, message: string | null) => setRefused((r) => ({ ...r, [key]: message })),
    submitted: submits > 0,
    handleSubmit,
    /** Spread on the <form>: its ref (for focus), onSubmit and noValidate. */
    formProps: { ref: formRef, onSubmit: (event: FormEvent) => void handleSubmit(event), noValidate: true },
  };
}

export type Form<V extends object> = ReturnType<typeof useForm<V>>;
