/**
 * Where the keyboard goes when a dialog opens or a step of it appears: the element marked
 * `data-autofocus`, else the first field (for a radio group, its checked radio, which is where
 * Tab would enter it), else — a confirmation without fields — the first button of its footer.
 */
const FIELD = 'input:not([type="hidden"]):not(:disabled), select:not(:disabled), textarea:not(:disabled):not([readonly])';

export function firstField(container: ParentNode): HTMLElement | null {
  const marked = container.querySelector<HTMLElement>('[data-autofocus]');
  if (marked) return marked;
  const field = container.querySelector<HTMLInputElement>(FIELD);
  if (field?.type === 'radio' && !field.checked && field.name) {
    const checked = container.querySelector<HTMLInputElement>(
      `input[type="radio"][name="${CSS.escape(field.name)}"]:checked:not(:disabled)`,
    );
    if (checked) return checked;
  }
  return field;
}

/** Focuses the first field of `container` (see firstField), or `fallback`; answers whether it did. */
export function focusFirstField(container: ParentNode | null, fallback?: ParentNode | null): boolean {
  if (!container) return false;
  const target =
    firstField(container) ??
    fallback?.querySelector<HTMLElement>('[data-autofocus]') ??
    fallback?.querySelector<HTMLElement>('button:not(:disabled)') ??
    null;
  if (!target) return false;
  target.focus();
  return document.activeElement === target;
}

/** Gives focus back to what had it, when it is still on the page and can take it. */
export function restoreFocus(element: Element | null): void {
  if (!(element instanceof HTMLElement) || !element.isConnected || element === document.body) return;
  if ((element as HTMLButtonElement).disabled) return;
  element.focus();
}
