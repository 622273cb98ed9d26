import { useState } from 'react';
import { useDismissable } from '../common/useDismissable';
import { loadHost, useHostStore } from '../../stores/host-tools';

export function HostToolsPanel({ onClose }: { onClose: () => void }) {
  const report = useHostStore((s) => s.report);
  const loading = useHostStore((s) => s.loading);
  const error = useHostStore((s) => s.error);
  const [showAll, setShowAll] = useState(false);
  const closeRef = useDismissable(onClose);

  const tools = report?.tools.filter((t) => showAll || t.applicable) ?? [];

  return (
    <section id="host-tools-panel" className="panel tools-panel" role="dialog" aria-modal="false" aria-labelledby="host-tools-title">
      <header className="panel-header">
        <h2 id="host-tools-title">Host tools</h2>
        <span className="panel-sub">{report ? report.osName : ''}</span>
        <div className="panel-actions">
          <button type="button" className="button small" onClick={() => void loadHost(true)} disabled={loading}>
            {loading ? 'Checking…' : 'Check again'}
          </button>
          <button type="button" className="button small" onClick={onClose} ref={closeRef}>
            Close
          </button>
        </div>
      </header>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <p className="panel-note">
        The rootless engine needs none of these: they are for the loop engine, GRUB 2, QEMU and for checking our work.
      </p>
      <table className="tools-table" data-testid="host-tools-table">
        <thead>
          <tr>
            <th scope="col">Tool</th>
            <th scope="col">Used for</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {tools.map((tool) => (
            <tr key={tool.name} data-testid={`tool-${tool.name}`} className={tool.found ? 'found' : 'missing'}>
              <th scope="row">
                <code>{tool.name}</code>
              </th>
              <td>{tool.purpose}</td>
              <td>
                {tool.found ? (
                  <span className="tool-found">
                    <span className="badge ok">found</span> {tool.version ?? ''} <span className="tool-path">{tool.path}</span>
                  </span>
                ) : (
                  <span className="tool-missing">
                    <span className={`badge ${tool.applicable ? 'warn' : 'muted'}`}>{tool.applicable ? 'missing' : 'other systems'}</span>{' '}
                    <code className="install-hint">{tool.installHint}</code>
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <label className="checkbox">
        <input type="checkbox" checked={showAll} onChange={(e) => setShowAll(e.target.checked)} /> Show tools for other systems
      </label>
    </section>
  );
}
