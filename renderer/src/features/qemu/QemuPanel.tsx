import { useEffect, useMemo, useRef, useState } from 'react';
import type { ImageInfo } from '../../../../shared/api/contract';
import { QEMU_DEFAULT_MEMORY_MIB } from '../../../../shared/api/qemu-plain';
import { logInfo } from '../../stores/activity';
import {
  choicesFor,
  refreshCommandLine,
  restartQemu,
  setChoices,
  startQemu,
  stopQemu,
  useQemuStore,
  type LaunchChoices,
} from '../../stores/qemu';
import { MemoryField } from './MemoryField';
import { onRunConsole, runActive, runConsoleText, sendRunSerial, useRunStore } from '../../stores/run';
import { RunBar } from '../run/RunBar';
import { SerialConsole, sessionFeed, type ConsoleFeed } from './SerialConsole';

function sessionStatus(session: ReturnType<typeof useQemuStore.getState>['sessions'][string] | undefined): string {
  if (!session) return 'Not started.';
  if (session.state === 'running') return `Running (pid ${session.pid}) since ${new Date(session.startedAt).toLocaleTimeString()}.`;
  if (session.state === 'stopping') return 'Stopping…';
  if (session.stopped) return 'Stopped.';
  if (session.signal) return `Ended by ${session.signal}.`;
  return `Exited with status ${session.exitCode}.`;
}

/** Copies text, with the old selection-based fallback where the clipboard API is refused. */
async function copyText(text: string, fallback: HTMLTextAreaElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!fallback) return false;
    fallback.select();
    return document.execCommand('copy');
  }
}

/** Launch in QEMU: options, Start / Stop / Restart, the live serial console and the command line. */
export function QemuPanel({ info }: { info: ImageInfo }) {
  const image = info.path;
  const choices = useQemuStore((s) => s.choices[image]) ?? choicesFor(image);
  const sessionId = useQemuStore((s) => s.sessionOf[image] ?? null);
  const session = useQemuStore((s) => (sessionId ? s.sessions[sessionId] : undefined));
  const command = useQemuStore((s) => s.command[image] ?? null);
  const commandError = useQemuStore((s) => s.commandError[image] ?? null);
  const log = useQemuStore((s) => (sessionId ? (s.logs[sessionId] ?? '') : ''));
  const busy = useQemuStore((s) => s.busy);
  const error = useQemuStore((s) => s.error);
  const [copied, setCopied] = useState<string | null>(null);
  const [memoryProblem, setMemoryProblem] = useState<string | null>(null);
  const commandBox = useRef<HTMLTextAreaElement>(null);
  const running = session?.state === 'running' || session?.state === 'stopping';
  // A run (Run / Debug) holds the image: its console is the run's, rules between its restarts.
  const run = useRunStore((s) => s.runs[image]);
  const runHolds = runActive(run);
  const runId = run?.runId ?? null;
  const showRun = !!run && (runHolds || !session || Date.parse(session.startedAt) < Date.parse(run.lastReport?.at ?? '0'));
  const feed = useMemo<ConsoleFeed>(
    () =>
      showRun && runId
        ? {
            key: `run:${runId}`,
            text: () => runConsoleText(runId),
            subscribe: (write) => onRunConsole(runId, write),
            send: (data) => sendRunSerial(image, data),
          }
        : sessionFeed(sessionId),
    [showRun, runId, sessionId, image],
  );

  // While the image runs, the box shows the session's own line; the preview comes back after it.
  useEffect(() => {
    const timer = setTimeout(() => void refreshCommandLine(image), 150);
    return () => clearTimeout(timer);
  }, [image, choices, running]);

  const set = (patch: Partial<LaunchChoices>) => setChoices(image, patch);
  const shown = showRun && run?.commandLine ? run.commandLine : running && session ? session.commandLine : command?.commandLine;

  return (
    <div className="qemu-panel" data-testid="qemu-panel">
      <RunBar image={image} />
      <form className="qemu-options" onSubmit={(e) => e.preventDefault()} aria-label="QEMU options">
        <MemoryField
          key={image}
          value={choices.memoryMiB ?? QEMU_DEFAULT_MEMORY_MIB}
          onChange={(memoryMiB) => set({ memoryMiB })}
          onProblem={setMemoryProblem}
        />
        <label className="inline-field">
          <span>Boot from</span>
          <select
            className="input"
            value={choices.media ?? 'auto'}
            onChange={(e) => set({ media: e.target.value as LaunchChoices['media'] })}
          >
            <option value="auto">{info.iso ? 'automatic (CD)' : info.floppy ? 'automatic (floppy)' : 'automatic (hard disk)'}</option>
            <option value="floppy">floppy (-fda)</option>
            <option value="disk">hard disk (-hda)</option>
            <option value="cdrom">CD (-cdrom)</option>
          </select>
        </label>
        <label className="inline-field">
          <span>Firmware</span>
          <select
            className="input"
            value={choices.firmware ?? 'bios'}
            onChange={(e) => set({ firmware: e.target.value as LaunchChoices['firmware'] })}
            data-testid="qemu-firmware"
          >
            <option value="bios">BIOS (SeaBIOS)</option>
            <option value="uefi">UEFI (OVMF, x86_64)</option>
          </select>
        </label>
        <label className="inline-field">
          <span>Accelerator</span>
          <select
            className="input"
            value={choices.accel ?? 'auto'}
            onChange={(e) => set({ accel: e.target.value as LaunchChoices['accel'] })}
          >
            <option value="auto">automatic (KVM when present)</option>
            <option value="kvm">KVM</option>
            <option value="tcg">TCG (emulation)</option>
          </select>
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={!!choices.gdb}
            onChange={(e) => set({ gdb: e.target.checked, ...(e.target.checked ? {} : { waitForGdb: false }) })}
          />{' '}
          gdb stub (-s)
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={!!choices.waitForGdb}
            onChange={(e) => set({ waitForGdb: e.target.checked, ...(e.target.checked ? { gdb: true } : {}) })}
          />{' '}
          wait for gdb (-S)
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={!!choices.guestErrors} onChange={(e) => set({ guestErrors: e.target.checked })} /> log guest
          errors
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={choices.debugcon?.kind === 'stdio'}
            onChange={(e) =>
              set({
                debugcon: e.target.checked ? { kind: 'stdio' } : { kind: 'none' },
                serial: e.target.checked ? { kind: 'none' } : { kind: 'stdio' },
              })
            }
          />{' '}
          debugcon (port 0xE9) in the console instead of COM1
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={choices.noReboot !== false} onChange={(e) => set({ noReboot: e.target.checked })} /> stop on reset
          (-no-reboot)
        </label>
        <label
          className="checkbox"
          title="The guest's disk writes go to a temporary file QEMU throws away: the way to boot an image that is mounted on this computer"
        >
          <input
            type="checkbox"
            checked={!!choices.snapshot}
            onChange={(e) => set({ snapshot: e.target.checked })}
            data-testid="qemu-snapshot"
          />{' '}
          read-only (-snapshot): boot without writing the image
        </label>
      </form>

      <div className="qemu-controls">
        <button
          type="button"
          className="button primary"
          onClick={() => void startQemu(image)}
          disabled={busy || running || runHolds || !!memoryProblem}
          title={memoryProblem ?? undefined}
          data-testid="qemu-start"
        >
          Start
        </button>
        <button
          type="button"
          className="button"
          onClick={() => sessionId && void stopQemu(sessionId)}
          disabled={busy || !running}
          data-testid="qemu-stop"
        >
          Stop
        </button>
        <button type="button" className="button" onClick={() => sessionId && void restartQemu(sessionId)} disabled={busy || !session}>
          Restart
        </button>
        <span className="qemu-status" role="status" data-testid="qemu-status">
          {sessionStatus(session)} {session && <span className="muted">{session.accelReason}</span>}
          {session?.gdb && (
            <span className="muted">
              {' '}
              gdb:{' '}
              <code>
                target remote {session.gdb.host}:{session.gdb.port}
              </code>
            </span>
          )}
        </span>
      </div>
      {error && (
        <p className="callout error" role="alert" data-testid="qemu-error">
          {error}
        </p>
      )}

      <section className="command" aria-labelledby="qemu-command-title">
        <div className="section-head">
          <h3 id="qemu-command-title" className="section-title">
            Command line
          </h3>
          <button
            type="button"
            className="button small"
            disabled={!shown}
            onClick={() =>
              void copyText(shown ?? '', commandBox.current).then((ok) => {
                setCopied(ok ? 'Copied.' : 'Select the text and copy it.');
                if (ok) logInfo('Copied the QEMU command line', [shown ?? '']);
              })
            }
          >
            Copy
          </button>
          <span className="muted" role="status">
            {copied}
          </span>
        </div>
        {commandError && !running && !runHolds ? (
          <p className="callout error" role="alert">
            {commandError}
          </p>
        ) : (
          <textarea
            ref={commandBox}
            className="command-line mono"
            readOnly
            value={shown ?? ''}
            rows={2}
            aria-labelledby="qemu-command-title"
            data-testid="qemu-command"
          />
        )}
      </section>

      <SerialConsole feed={feed} running={showRun ? run?.state === 'running' : running} />

      {log && (
        <section aria-labelledby="qemu-log-title">
          <h3 id="qemu-log-title" className="section-title">
            QEMU’s messages
          </h3>
          <pre className="qemu-log" data-testid="qemu-log">
            {log}
          </pre>
        </section>
      )}
    </div>
  );
}
