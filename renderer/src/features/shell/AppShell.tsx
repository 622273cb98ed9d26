import { useEffect } from 'react';
import { setActivityPanel, startActivity, useActivityStore } from '../../stores/activity';
import { loadHost } from '../../stores/host-tools';
import { openDroppedImages, showWelcome, useSelectedImage } from '../../stores/images';
import { loadLoops, startLoopsEvents } from '../../stores/loops';
import { startQemuEvents } from '../../stores/qemu';
import { startRunEvents } from '../../stores/run';
import { openDialog, setToolsOpen, useUiStore } from '../../stores/ui';
import { ActivityPanel } from '../activity/ActivityPanel';
import { ScreenBoundary } from '../common/ScreenBoundary';
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

  // Each screen has its own error boundary: a bug in one leaves the others working, with a way back.
  const toStart = { label: 'Back to the start', onClick: showWelcome };
  return (
    <div className="shell">
      <ScreenBoundary what="the image list">
        <Sidebar />
      </ScreenBoundary>
      <main className="main" aria-label="Workspace">
        <ScreenBoundary
          what={selected ? `the view of ${selected.name}` : 'the start screen'}
          resetKey={selected?.path ?? null}
          back={selected ? toStart : undefined}
        >
          {selected ? <ImageView key={selected.path} image={selected} /> : <Welcome onShowTools={() => setToolsOpen(true)} />}
        </ScreenBoundary>
      </main>
      <StatusBar
        onShowTools={() => setToolsOpen(!toolsOpen)}
        toolsOpen={toolsOpen}
        onShowActivity={() => setActivityPanel(!activityOpen)}
        activityOpen={activityOpen}
      />
      {toolsOpen && (
        <ScreenBoundary what="the host tools panel" variant="dialog" back={{ label: 'Close', onClick: () => setToolsOpen(false) }}>
          <HostToolsPanel onClose={() => setToolsOpen(false)} />
        </ScreenBoundary>
      )}
      {activityOpen && (
        <ScreenBoundary what="the activity panel" variant="dialog" back={{ label: 'Close', onClick: () => setActivityPanel(false) }}>
          <ActivityPanel onClose={() => setActivityPanel(false)} />
        </ScreenBoundary>
      )}
      {dialog === 'new-image' && (
        <ScreenBoundary what="the New image wizard" variant="dialog" back={{ label: 'Close', onClick: () => openDialog(null) }}>
          <NewImageWizard onClose={() => openDialog(null)} />
        </ScreenBoundary>
      )}
      {dialog === 'open-image' && (
        <ScreenBoundary what="the Open image dialog" variant="dialog" back={{ label: 'Close', onClick: () => openDialog(null) }}>
          <OpenImageDialog onClose={() => openDialog(null)} />
        </ScreenBoundary>
      )}
    </div>
  );
}
