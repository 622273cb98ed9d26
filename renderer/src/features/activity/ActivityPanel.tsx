import { useEffect, useRef } from 'react';
import { useDismissable } from '../common/useDismissable';
import { cancelJob, useActivityStore } from '../../stores/activity';
import { jobAmount, jobFraction, ProgressBar } from '../common/ProgressBar';

const TIME = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** Jobs with their progress (and Cancel), and the log: what was done, the commands, the errors with their fix. */
export function ActivityPanel({ onClose }: { onClose: () => void }) {
  const jobs = useActivityStore((s) => s.jobs);
  const log = useActivityStore((s) => s.log);
  const closeRef = useDismissable(onClose);
  const end = useRef<HTMLLIElement>(null);

  // A block body: an effect's return value is its cleanup, and scrollIntoView may answer a
  // Promise, which React would call as one on close ("destroy is not a function").
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'nearest' });
  }, [log.length]);

  const running = jobs.filter((j) => j.state === 'running');
  const finished = jobs.filter((j) => j.state !== 'running').slice(-5);

  return (
    <section id="activity-panel" className="panel activity-panel" role="dialog" aria-modal="false" aria-labelledby="activity-title">
      <header className="panel-header">
        <h2 id="activity-title">Activity</h2>
        <span className="panel-sub">
          {running.length} running · {log.length} log entr{log.length === 1 ? 'y' : 'ies'}
        </span>
        <div className="panel-actions">
          <button type="button" className="button small" onClick={onClose} ref={closeRef}>
            Close
          </button>
        </div>
      </header>
      <h3 className="section-title">Jobs</h3>
      {jobs.length === 0 ? (
        <p className="muted">No jobs yet. Formatting, copying files and building run as jobs, with progress here.</p>
      ) : (
        <ul className="job-list" data-testid="job-list">
          {[...running, ...finished].map((job) => (
            <li key={job.jobId} className={`job job-${job.state}`}>
              <div className="job-line">
                <span className="job-title">{job.title}</span>
                <span className={`badge ${job.state === 'done' ? 'ok' : job.state === 'failed' ? 'warn' : 'muted'}`}>{job.state}</span>
                {job.state === 'running' && (
                  <button type="button" className="button small" onClick={() => void cancelJob(job.jobId)}>
                    Cancel
                  </button>
                )}
              </div>
              {job.state === 'running' && <ProgressBar fraction={jobFraction(job)} label={job.title} />}
              <div className="muted job-detail">
                {job.phase} {jobAmount(job)}
                {job.error && <span className="error-text"> — {job.error.message}</span>}
              </div>
            </li>
          ))}
        </ul>
      )}
      <h3 className="section-title">Log</h3>
      {log.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <ol className="log-list" data-testid="log-list">
          {log.map((entry) => (
            <li key={entry.id} className={`log-entry log-${entry.level}`}>
              <time className="log-time mono">{TIME.format(entry.at)}</time>
              <div>
                <p className="log-text">{entry.text}</p>
                {entry.fix && <p className="log-fix">{entry.fix}</p>}
                {entry.commands.length > 0 && (
                  <details>
                    <summary>Show commands</summary>
                    <pre className="mono">{entry.commands.join('\n')}</pre>
                  </details>
                )}
              </div>
            </li>
          ))}
          <li ref={end} aria-hidden="true" className="log-end" />
        </ol>
      )}
    </section>
  );
}
