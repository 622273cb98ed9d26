import { useEffect, useRef } from 'react';

/**
 * For a non-modal panel: focus its close button when it opens, and close it on Escape.
 * Returns the ref to put on the close button.
 */
export function useDismissable(onClose: () => void) {
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    closeRef.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return closeRef;
}
