import { useEffect } from 'react';
import { setActivityPanel, startActivity, useActivityStore } from '../../stores/activity';
import { loadHost } from '../../stores/host-tools';
import { openDroppedImages, useSelectedImage } from '../../stores/images';
import { loadLoops, startLoopsEvents } from '../../stores/loops';
import { startQemuEvents } from '../../stores/qemu';
import { startRunEvents } from '../../stores/run';
import { openDialog, setToolsOpen, useUiStore } from '../../stores/ui';
import { ActivityPanel } from '../activity/ActivityPanel';
import { carriesFiles } from '../files/drop';
import { HostToolsPanel } from '../host-tools/HostToolsPanel';
import { ImageView } from '../image/ImageView';
import { OpenImageDialog } from '../open-image/OpenImageDialog';
import { NewImageWizard } from '../wizard/NewImageWizard';
import { Sidebar } from './Sidebar';
import { StatusBar } from './StatusBar';
import { Welcome } from './Welcome';

export function AppShell() {
  const toolsOpen = useUiStore((s) => s.toolsOpen);
  const dialog = useUiStore((s) => s.dialog);
  const activityOpen = useActivityStore((s) => s.panelOpen);
  const selected = useSelectedImage();

  useEffect(() => {
    // A file dropped anywhere but on the file browser: in the app, an image to open; never a
    // navigation to the file (the browser's default).
    const over = (event: DragEvent) => {
      if (carriesFiles(event.dataTransfer)) event.preventDefault();
    };
    const drop = (event: DragEvent) => {
      if (!carriesFiles(event.dataTransfer)) return;
      event.preventDefault();
      void openDroppedImages(event.dataTransfer!);
    };
    window.addEventListener('dragover', over);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('drop', drop);
    };
  }, []);

  useEffect(() => {
    startActivity();
    startQemuEvents();
    startRunEvents();
    startLoopsEvents();
    void loadHost();
    void loadLoops();
  }, []);

  return (
    <div className="shell">
      <Sidebar />
      <main className="main" aria-label="Workspace">
        {selected ? <ImageView key={selected.path} image={selected} /> : <Welcome onShowTools={() => setToolsOpen(true)} />}
      </main>
      <StatusBar
        onShowTools={() => setToolsOpen(!toolsOpen)}
        toolsOpen={toolsOpen}
        onShowActivity={() => setActivityPanel(!activityOpen)}
        activityOpen={activityOpen}
      />
      {toolsOpen && <HostToolsPanel onClose={() => setToolsOpen(false)} />}
      {activityOpen && <ActivityPanel onClose={() => setActivityPanel(false)} />}
      {dialog === 'new-image' && <NewImageWizard onClose={() => openDialog(null)} />}
      {dialog === 'open-image' && <OpenImageDialog onClose={() => openDialog(null)} />}
    </div>
  );
}
