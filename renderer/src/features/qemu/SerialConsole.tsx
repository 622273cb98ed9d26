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
  return {
    background: v('--console-bg'),
    foreground: v('--console-fg'),
    cursor: v('--console-fg'),
    selectionBackground: v('--console-selection'),
  };
}

/**
 * What a console shows: a QEMU session's output, or a run's (each of its sessions in turn, with
 * a rule at each restart: stores/run.ts). `key` names it: the terminal starts over when it changes.
 */
export interface ConsoleFeed {
  key: string | null;
  /** Everything so far, for a console that opens late. */
  text(): string;
  /** New output as it arrives; returns the unsubscriber. */
  subscribe(write: (data: string) => void): () => void;
  /** What is typed, for the guest. */
  send(data: string): void;
}

/** One QEMU session's console (stores/qemu.ts). */
export function sessionFeed(sessionId: string | null): ConsoleFeed {
  return {
    key: sessionId,
    text: () => (sessionId ? consoleText(sessionId) : ''),
    subscribe: (write) => onSerial((id, data) => id === sessionId && write(data)),
    send: (data) => {
      if (sessionId) void sendSerial(sessionId, data);
    },
  };
}

/**
 * The guest's serial port (COM1) live: QEMU's stdio, streamed as qemuSerial events, shown in
 * xterm.js; what you type goes back to the guest. A console opened late replays what it missed.
 */
export function SerialConsole({ feed, running }: { feed: ConsoleFeed; running: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const terminal = useRef<Terminal | null>(null);
  // The latest props for the terminal's callbacks, which live as long as the terminal does.
  // Updated after each commit (React refs must not be written during render).
  const source = useRef(feed);
  const live = useRef(running);
  useLayoutEffect(() => {
    source.current = feed;
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
      // `clear` (ED2) scrolls the screen into the history, as PuTTY does: a run's rule and the
      // boot before it survive the next boot's clearing (stores/run.ts).
      scrollOnEraseInDisplay: true,
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
      if (source.current.key && live.current) source.current.send(data);
    });
    return () => {
      input.dispose();
      scheme.removeEventListener('change', retheme);
      resize.disconnect();
      term.dispose();
      unmirror();
      terminal.current = null;
    };
  }, []);

  // A new feed (another session, another run) starts the terminal over; a run's restarts do not.
  const { key } = feed;
  useEffect(() => {
    const term = terminal.current;
    if (!term) return;
    term.reset();
    if (!key) return;
    const current = source.current;
    term.write(current.text());
    return current.subscribe((data) => term.write(data));
  }, [key]);

  return <div className="serial-console" ref={host} data-testid="serial-console" role="region" aria-label="Serial console (COM1)" />;
}
