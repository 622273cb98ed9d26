import { useEffect, useRef, useState } from 'react';
import { restoreFocus } from './focus';

/**
 * For a non-modal panel: focus its close button when it opens, close it on Escape, and give the
 * focus back to the control that opened it when it closes (if the focus was still in the panel).
 * Returns the ref to put on the close button.
 */
export function useDismissable(onClose: () => void) {
  const closeRef = useRef<HTMLButtonElement>(null);
  const [opener] = useState(() => document.activeElement);
  useEffect(() => {
    const panel = closeRef.current?.closest('[role="dialog"]') ?? null;
    closeRef.current?.focus();
    return () => {
      const focus = document.activeElement;
      if (!focus || focus === document.body || !focus.isConnected || panel?.contains(focus)) restoreFocus(opener);
    };
  }, [opener]);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return closeRef;
}
