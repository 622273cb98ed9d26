import { useActivityStore } from '../../stores/activity';
import { useHostStore } from '../../stores/host-tools';
import { summarizeTools } from '../host-tools/summary';

export function StatusBar({
  onShowTools,
  toolsOpen,
  onShowActivity,
  activityOpen,
}: {
  onShowTools: () => void;
  toolsOpen: boolean;
  onShowActivity: () => void;
  activityOpen: boolean;
}) {
  const report = useHostStore((s) => s.report);
  const version = useHostStore((s) => s.version);
  const loading = useHostStore((s) => s.loading);
  const error = useHostStore((s) => s.error);
  const running = useActivityStore((s) => s.jobs.filter((j) => j.state === 'running').length);
  const errors = useActivityStore((s) => s.log.filter((e) => e.level === 'error').length);
  const summary = report ? summarizeTools(report) : null;

  let label = 'Checking host tools…';
  let tone: 'ok' | 'warn' | 'error' | 'busy' = 'busy';
  if (error) {
    label = 'Host tools: check failed';
    tone = 'error';
  } else if (summary && !loading) {
    label = `Host tools: ${summary.found} of ${summary.total} found`;
    tone = summary.missing.length === 0 ? 'ok' : 'warn';
  }

  return (
    <footer className="statusbar" role="contentinfo">
      <span className="status-version">
        {version
          ? `${version.name} ${version.version} · ${version.shell === 'electron' ? `Electron ${version.electron}` : 'web harness'}`
          : ' '}
      </span>
      <span className="status-right">
        <button
          type="button"
          className={`status-tools tone-${running ? 'busy' : errors ? 'error' : 'ok'}`}
          onClick={onShowActivity}
          aria-expanded={activityOpen}
          aria-controls="activity-panel"
          data-testid="activity-status"
        >
          <span className="dot" aria-hidden="true" />
          {running ? `${running} job${running === 1 ? '' : 's'} running` : 'Activity'}
          {errors > 0 && (
            <span className="status-missing">
              {' '}
              — {errors} error{errors === 1 ? '' : 's'}
            </span>
          )}
        </button>
        <button
          type="button"
          className={`status-tools tone-${tone}`}
          onClick={onShowTools}
          aria-expanded={toolsOpen}
          aria-controls="host-tools-panel"
          data-testid="host-tools-status"
        >
          <span className="dot" aria-hidden="true" />
          {label}
          {summary && summary.missing.length > 0 && <span className="status-missing"> — missing: {summary.missing.join(', ')}</span>}
        </button>
      </span>
    </footer>
  );
}
