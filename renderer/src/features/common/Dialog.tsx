import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { focusFirstField, restoreFocus } from './focus';

/**
 * A modal dialog on the native <dialog> element: the browser traps focus, puts the rest of the
 * page out of reach of assistive technology, and sends Escape as "cancel". Render it to open it;
 * unmount it to close it. It opens on its first field (or the element marked `data-autofocus`;
 * a confirmation without fields, on its first footer button) — never on ×, and gives the focus
 * back to the control that opened it when it closes (`returnFocus` names another one, for an
 * opener that is gone or disabled by then).
 */
export function Dialog({
  title,
  onClose,
  children,
  footer,
  size = 'normal',
  testId,
  description,
  returnFocus,
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  size?: 'normal' | 'wide';
  testId?: string;
  description?: ReactNode;
  returnFocus?: () => HTMLElement | null;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descriptionId = useId();
  // What had the focus before the dialog rendered: the control that opened it.
  const [opener] = useState(() => document.activeElement);
  const returnTo = useRef(returnFocus);
  useEffect(() => {
    returnTo.current = returnFocus;
  });
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    if (dialog) focusFirstField(dialog.querySelector('.dialog-body') ?? dialog, dialog.querySelector('.dialog-footer'));
    return () => {
      dialog?.close();
      const other = returnTo.current?.();
      if (other) other.focus();
      else restoreFocus(opener);
    };
  }, [opener]);
  return (
    <dialog
      ref={ref}
      className={`dialog dialog-${size}`}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      data-testid={testId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <header className="dialog-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          <span aria-hidden="true">×</span>
        </button>
      </header>
      {description && (
        <p id={descriptionId} className="dialog-description">
          {description}
        </p>
      )}
      <div className="dialog-body">{children}</div>
      {footer && <footer className="dialog-footer">{footer}</footer>}
    </dialog>
  );
}
