import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITheme } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useLayoutEffect, useRef } from 'react';
import { consoleText, onSerial, sendSerial } from '../../stores/qemu';
import { mirrorBlockedStyles } from './csp-styles';

/** The console's colours from the app's own CSS variables, so it follows the light and dark theme. */
function themeFromCss(element: HTMLElement): ITheme {
  const css = getComputedStyle(element);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return { background: v('--console-bg'), foreground: v('--console-fg'), cursor: v('--console-fg'), selectionBackground: v('--console-selection') };
}

/**
 * The guest's serial port (COM1) live: QEMU's stdio, streamed as qemuSerial events, shown in
 * xterm.js; what you type goes back to the guest. A console opened late replays what it missed.
 */
export function SerialConsole({ sessionId, running }: { sessionId: string | null; running: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const terminal = useRef<Terminal | null>(null);
  // The latest props for the terminal's callbacks, which live as long as the terminal does.
  // Updated after each commit (React refs must not be written during render).
  const session = useRef(sessionId);
  const live = useRef(running);
  useLayoutEffect(() => {
    session.current = sessionId;
    live.current = running;
  });

  useEffect(() => {
    const element = host.current!;
    const unmirror = mirrorBlockedStyles(element);
    const term = new Terminal({
      convertEol: false,
      cursorBlink: false,
      fontFamily: getComputedStyle(element).getPropertyValue('--mono').trim() || 'monospace',
      fontSize: 13,
      rows: 16,
      scrollback: 5000,
      theme: themeFromCss(element),
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    terminal.current = term;
    const refit = () => {
      try {
        fit.fit();
      } catch {
        // Not laid out yet (hidden tab): the next resize fits it.
      }
    };
    refit();
    const resize = new ResizeObserver(refit);
    resize.observe(element);
    const scheme = window.matchMedia('(prefers-color-scheme: dark)');
    const retheme = () => (term.options.theme = themeFromCss(element));
    scheme.addEventListener('change', retheme);
    const input = term.onData((data) => {
      if (session.current && live.current) void sendSerial(session.current, data);
    });
    const off = onSerial((id, data) => {
      if (id === session.current) term.write(data);
    });
    return () => {
      off();
      input.dispose();
      scheme.removeEventListener('change', retheme);
      resize.disconnect();
      term.dispose();
      unmirror();
      terminal.current = null;
    };
  }, []);

  useEffect(() => {
    const term = terminal.current;
    if (!term) return;
    term.reset();
    if (sessionId) term.write(consoleText(sessionId));
  }, [sessionId]);

  return <div className="serial-console" ref={host} data-testid="serial-console" role="region" aria-label="Serial console (COM1)" />;
}
