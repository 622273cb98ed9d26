import { useState } from 'react';
import type { RunStatus } from '../../../../shared/api/run-plain';
import { logInfo } from '../../stores/activity';
import { cancelConfirm, rebuildRun, runActive, runChoicesFor, setRunWatch, startRun, stopRun, useRunStore } from '../../stores/run';

/** 14:02:11, as the console's rules say it. */
const clock = (iso: string) => new Date(iso).toTimeString().slice(0, 8);

const sentence = (text: string) => (/[.!?…]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

function runStatusText(status: RunStatus | undefined): string {
  if (!status) return 'Not running.';
  switch (status.state) {
    case 'building':
      return status.boots ? 'Building…' : 'Building the image…';
    case 'booting':
      return 'Booting…';
    case 'rebuilding':
      return 'Rebuilding (the machine keeps running)…';
    case 'running':
      return `Running (pid ${status.pid})${status.gdb?.waiting ? ', waiting for gdb' : ''}${status.watch ? `; rebuilds on a change of ${status.watching.length} path${status.watching.length === 1 ? '' : 's'}` : ''}.`;
    case 'idle':
      return `QEMU ended${status.exit ? (status.exit.signal ? ` (${status.exit.signal})` : ` (status ${status.exit.code})`) : ''}; waiting for a change.`;
    case 'stopped':
      return 'Stopped.';
  }
}

/**
 * Run from the recipe beside the image (issue 15): Run builds the image when it is out of date and
 * boots it; "Rebuild on change" watches the recipe and its sources and boots the rebuilt image;
 * Debug starts QEMU's gdb stub, the CPU waiting, and shows the gdb command to copy. The last
 * rebuild (when, how long, what changed) and the last build error stay in view.
 */
export function RunBar({ image }: { image: string }) {
  const recipe = useRunStore((s) => s.recipes[image]);
  const status = useRunStore((s) => s.runs[image]);
  const watch = useRunStore((s) => s.choices[image]?.watch) ?? runChoicesFor(image).watch;
  const busy = useRunStore((s) => s.busy[image] ?? false);
  const error = useRunStore((s) => s.error[image] ?? null);
  const confirm = useRunStore((s) => s.confirm[image] ?? null);
  const [copied, setCopied] = useState<string | null>(null);
  if (!recipe) return null;
  const active = runActive(status);
  const report = status?.lastReport;
  const failed = status?.lastError;
  const gdb = active ? status?.gdb : null;

  return (
    <section className="run-bar" aria-labelledby="run-title" data-testid="run-bar">
      <div className="section-head">
        <h3 id="run-title" className="section-title">
          Run from the recipe
        </h3>
        <span className="muted mono run-recipe" title={recipe}>
          {recipe}
        </span>
      </div>
      <div className="qemu-controls">
        <button
          type="button"
          className="button primary"
          onClick={() => void startRun(image)}
          disabled={busy || active}
          data-testid="run-start"
        >
          Run
        </button>
        <button
          type="button"
          className="button"
          onClick={() => void startRun(image, { debug: true })}
          disabled={busy || active}
          data-testid="run-debug"
        >
          Debug
        </button>
        <button
          type="button"
          className="button"
          onClick={() => void rebuildRun(image)}
          disabled={busy || !active}
          data-testid="run-rebuild"
        >
          Rebuild now
        </button>
        <button type="button" className="button" onClick={() => void stopRun(image)} disabled={busy || !active} data-testid="run-stop">
          Stop
        </button>
        <label className="checkbox">
          <input type="checkbox" checked={watch} onChange={(e) => void setRunWatch(image, e.target.checked)} data-testid="run-watch" />{' '}
          Rebuild on change
        </label>
        <span className="qemu-status" role="status" data-testid="run-status">
          {busy && !active ? 'Building the image…' : runStatusText(status)}
        </span>
      </div>
      {report && report.kind !== 'none' && (
        <p className="run-last" data-testid="run-last">
          <span className="muted">
            {report.kind === 'full' ? 'Last build' : 'Last rebuild'} {clock(report.at)}:
          </span>{' '}
          {report.summary}
        </p>
      )}
      {failed && (
        <p className="callout error" role="alert" data-testid="run-error">
          Build failed at {clock(failed.at)}: {sentence(failed.message)}
          {status?.state === 'running' ? ' The machine keeps running the last good build; fix it and save again.' : ''}
        </p>
      )}
      {error && (
        <p className="callout error" role="alert">
          {error}
        </p>
      )}
      {confirm && (
        <div className="callout warn" role="alertdialog" aria-label="Rebuild the image from its recipe?" data-testid="run-confirm">
          <p>{confirm.message}</p>
          <div className="button-row">
            <button type="button" className="button danger" onClick={() => void startRun(image, { debug: confirm.debug, force: true })}>
              Rebuild it from the recipe
            </button>
            <button type="button" className="button" onClick={() => cancelConfirm(image)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {gdb && (
        <div className="run-gdb" data-testid="run-gdb">
          <span className="muted">
            gdb stub on {gdb.host}:{gdb.port}
            {gdb.waiting ? ', the CPU waits for gdb to continue it' : ''}:
          </span>
          <code className="mono" data-testid="run-gdb-command">
            {gdb.command}
          </code>
          <button
            type="button"
            className="button small"
            onClick={() =>
              void navigator.clipboard.writeText(gdb.command).then(
                () => {
                  setCopied('Copied.');
                  logInfo('Copied the gdb command', [gdb.command]);
                },
                () => setCopied('Select the command and copy it.'),
              )
            }
          >
            Copy
          </button>
          <span className="muted" role="status">
            {copied}
          </span>
        </div>
      )}
    </section>
  );
}
