import { useEffect, useState } from 'react';
import { loadHost } from '../../stores/host-tools';
import { HostToolsPanel } from '../host-tools/HostToolsPanel';
import { Sidebar } from './Sidebar';
import { StatusBar } from './StatusBar';
import { Welcome } from './Welcome';

export function AppShell() {
  const [toolsOpen, setToolsOpen] = useState(false);
  useEffect(() => {
    void loadHost();
  }, []);

  return (
    <div className="shell">
      <Sidebar />
      <main className="main" aria-label="Workspace">
        <Welcome onShowTools={() => setToolsOpen(true)} />
      </main>
      <StatusBar onShowTools={() => setToolsOpen((open) => !open)} toolsOpen={toolsOpen} />
      {toolsOpen && <HostToolsPanel onClose={() => setToolsOpen(false)} />}
    </div>
  );
}
