import { useEffect, useState, type KeyboardEvent } from 'react';
import { formatBytes } from '../../../../shared/disk/sizes';
import { closeImage, refreshImage, showWelcome, type OpenImage } from '../../stores/images';
import { startQemu, useQemuStore } from '../../stores/qemu';
import { findRecipe, runActive, startRun, useRunStore } from '../../stores/run';
import { setTab, useUiStore, type ImageTab } from '../../stores/ui';
import { BootloaderDialog } from '../bootloader/BootloaderDialog';
import { formatCount } from '../common/format';
import { lazyPart } from '../common/lazyPart';
import { ScreenBoundary } from '../common/ScreenBoundary';
import { FileBrowser } from '../files/FileBrowser';
import { PartitionEditor } from '../partitions/PartitionEditor';
import { VolumesTable } from './VolumesTable';
import { IsoBrowser, IsoOverview } from './IsoView';

// The QEMU panel brings xterm.js (its serial console), which is as big as React itself: it is
// loaded when the QEMU tab first opens, not with the window, so the first paint does not wait
// for it (the initial-JS budget is checked by tests/renderer-bundle.test.ts). The QEMU store and
// its event subscription stay in the main chunk, so a console opened late replays what it missed.
const QemuPanel = lazyPart(() => import('../qemu/QemuPanel').then((m) => m.QemuPanel), 'the QEMU console');

const TABS: { id: ImageTab; label: string }[] = [
  { id: 'overview', label: 'Overview' },
  { id: 'files', label: 'Files' },
  { id: 'partitions', label: 'Partitions' },
  { id: 'qemu', label: 'QEMU' },
];

/** The boot code's name: its description's first words ("GRUB 2", "none"), capitalized. */
function bootName(boot: { description: string }): string {
  const name = boot.description.split(':')[0]!;
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** One open image: what it is, its volumes, and the tabs to work on it. */
export function ImageView({ image }: { image: OpenImage }) {
  const tab = useUiStore((s) => s.tab);
  const [bootOpen, setBootOpen] = useState(false);
  const info = image.info;
  const running = useQemuStore((s) => {
    const id = s.sessionOf[image.path];
    return id ? s.sessions[id]?.state === 'running' : false;
  });
  const qemuBusy = useQemuStore((s) => s.busy);
  const recipe = useRunStore((s) => s.recipes[image.path]);
  const runHolds = useRunStore((s) => runActive(s.runs[image.path]));
  const runBusy = useRunStore((s) => s.busy[image.path] ?? false);

  // An image with a recipe beside it (disk.img → disk.json: the wizard saves one) can be Run.
  useEffect(() => {
    void findRecipe(image.path);
  }, [image.path, image.info]);

  useEffect(() => {
    setTab('overview');
  }, [image.path]);

  const onTabKey = (event: KeyboardEvent<HTMLButtonElement>) => {
    const index = TABS.findIndex((t) => t.id === tab);
    const next =
      event.key === 'ArrowRight'
        ? index + 1
        : event.key === 'ArrowLeft'
          ? index - 1
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? TABS.length - 1
              : null;
    if (next === null) return;
    event.preventDefault();
    const target = TABS[(next + TABS.length) % TABS.length]!;
    setTab(target.id);
    document.getElementById(`tab-${target.id}`)?.focus();
  };

  return (
    <section className="image-view" aria-labelledby="image-title">
      <header className="image-header">
        <div className="image-heading">
          <h1 id="image-title">{image.name}</h1>
          <p className="image-path mono" title={image.path}>
            {image.path}
          </p>
        </div>
        <div className="image-actions">
          <button
            type="button"
            className="button"
            onClick={() => setBootOpen(true)}
            disabled={!info || !!info.iso}
            title={info?.iso ? 'An ISO image is read-only: its boot loader comes with its recipe (build it again)' : undefined}
          >
            Install bootloader…
          </button>
          <button
            type="button"
            className="button primary"
            onClick={() => {
              setTab('qemu');
              if (!running) void startQemu(image.path);
            }}
            disabled={!info || qemuBusy || runHolds}
            data-testid="launch-qemu"
          >
            {running ? 'QEMU is running' : 'Launch in QEMU'}
          </button>
          {recipe && (
            <button
              type="button"
              className="button primary"
              title={`Build from ${recipe} when out of date, boot, and rebuild on change`}
              onClick={() => {
                setTab('qemu');
                if (!runHolds) void startRun(image.path);
              }}
              disabled={!info || runBusy}
              data-testid="run-image"
            >
              {runHolds ? 'Running' : 'Run'}
            </button>
          )}
          <button type="button" className="button" onClick={() => void refreshImage(image.path)} disabled={image.loading}>
            {image.loading ? 'Reading…' : 'Refresh'}
          </button>
          <button type="button" className="button" onClick={() => closeImage(image.path)}>
            Close
          </button>
        </div>
      </header>

      {image.error && (
        <p className="callout error" role="alert">
          {image.error}
        </p>
      )}

      {info && (
        <dl className="facts" data-testid="image-facts">
          <div>
            <dt>Size</dt>
            <dd>
              {formatBytes(info.sizeBytes)} <span className="muted">({formatCount(info.sizeBytes)} bytes)</span>
            </dd>
          </div>
          <div>
            <dt>Sectors</dt>
            <dd>{formatCount(info.totalSectors)} × 512</dd>
          </div>
          <div>
            <dt>Geometry (C/H/S)</dt>
            <dd>
              {info.geometry.cylinders}/{info.geometry.heads}/{info.geometry.sectorsPerTrack}{' '}
              <span className="muted">
                {info.floppy
                  ? `${info.floppy} floppy`
                  : info.geometrySource === 'partition-table'
                    ? 'from the table'
                    : 'as QEMU guesses it'}
              </span>
            </dd>
          </div>
          <div>
            <dt>Partition table</dt>
            <dd>
              {info.table === 'none' ? 'none' : info.table.toUpperCase()}
              {info.iso && info.table !== 'none' && <span className="muted"> (hybrid: an ISO image)</span>}
              {info.diskId && <span className="muted mono"> {info.diskId}</span>}
            </dd>
          </div>
          {info.boot && !info.iso && (
            <div data-testid="boot-fact">
              <dt>Boot loader (BIOS)</dt>
              <dd title={info.boot.description}>
                {bootName(info.boot)} <span className="muted">— {info.boot.description.replace(/^[^:]*: /, '')}</span>
              </dd>
            </div>
          )}
        </dl>
      )}

      <div className="tabs" role="tablist" aria-label="Image">
        {TABS.map((t) => (
          <button
            key={t.id}
            id={`tab-${t.id}`}
            type="button"
            role="tab"
            className="tab"
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
            onKeyDown={onTabKey}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div className="tab-panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        <ScreenBoundary
          what={`the ${TABS.find((t) => t.id === tab)?.label ?? ''} tab`}
          resetKey={tab}
          back={
            tab === 'overview'
              ? { label: 'Back to the start', onClick: showWelcome }
              : { label: 'Back to the overview', onClick: () => setTab('overview') }
          }
        >
          {!info ? (
            <p className="muted">Reading the image…</p>
          ) : info.iso && tab === 'overview' ? (
            <IsoOverview info={{ ...info, iso: info.iso }} />
          ) : info.iso && tab === 'files' ? (
            <IsoBrowser info={info} />
          ) : info.iso && tab === 'partitions' ? (
            <p className="empty-state" data-testid="iso-no-partitions">
              An ISO image has no partitions to edit
              {info.iso.mbrPartitions
                ? ': its hybrid MBR (on the Overview) only points a USB stick’s firmware at the ISO and its EFI partition'
                : ''}
              .
            </p>
          ) : tab === 'overview' ? (
            <VolumesTable info={info} />
          ) : tab === 'files' ? (
            <FileBrowser info={info} />
          ) : tab === 'partitions' ? (
            <PartitionEditor info={info} />
          ) : (
            <QemuPanel info={info} />
          )}
        </ScreenBoundary>
      </div>
      {bootOpen && info && <BootloaderDialog info={info} onClose={() => setBootOpen(false)} />}
    </section>
  );
}
