import { useState } from 'react';
import type { ImageInfo } from '../../../../shared/api/contract';
import { showVolume } from '../../stores/files';
import { mountOf, mountVolume, unmountVolume, useLoopsStore } from '../../stores/loops';
import { setTab } from '../../stores/ui';
import { formatBytes, percent } from '../common/format';
import { FormatDialog } from '../format/FormatDialog';
import { hostBridge } from '../../host';
import { DiskBar, segmentKey } from './DiskBar';
import { volumesOf, type Volume } from './volumes';

/** The image's layout and its volumes, like `fdisk -l` and `df -Th` side by side. */
export function VolumesTable({ info }: { info: ImageInfo }) {
  const loops = useLoopsStore((s) => s.state);
  const loopsBusy = useLoopsStore((s) => s.busy);
  const loopsError = useLoopsStore((s) => s.error);
  const [formatting, setFormatting] = useState<Volume | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const volumes = volumesOf(info);
  const host = hostBridge();
  const loopReason = !loops
    ? null
    : loops.system === null
      ? 'This system has no loop devices Loopback Studio can use.'
      : loops.elevation === 'unavailable'
        ? 'Mounting needs root: run Loopback Studio as root or install pkexec.'
        : null;

  const browse = (volume: Volume) => {
    void showVolume({ image: info.path, partition: volume.partition });
    setTab('files');
  };

  return (
    <div className="overview">
      <DiskBar
        disk={info}
        label={`Layout of ${info.path}, drawn to scale`}
        selected={selected}
        onSelect={(segment) => setSelected(segmentKey(segment))}
        testId="overview-diskbar"
      />
      {info.warnings.length > 0 && info.table !== 'none' && (
        <ul className="callout warn" aria-label="Warnings">
          {info.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <div className="table-scroll">
        <table className="data-table volumes-table" data-testid="volumes-table">
          <caption className="visually-hidden">Volumes of {info.path}</caption>
          <thead>
            <tr>
              <th scope="col">Volume</th>
              <th scope="col">Filesystem</th>
              <th scope="col" className="num" title="The volume's size; the filesystem's own size under it when they differ">
                Size
              </th>
              <th scope="col" className="num">
                Used
              </th>
              <th scope="col" className="num">
                Avail
              </th>
              <th scope="col" className="num">
                Use%
              </th>
              <th scope="col" className="num">
                Start
              </th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {volumes.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">
                  The partition table is empty. Add a partition in the Partitions tab.
                </td>
              </tr>
            )}
            {volumes.map((v) => {
              const mount = mountOf(loops, info.path, v.partition);
              const key = v.partition === null ? 'whole' : `p${v.partition}`;
              return (
                <tr key={key} data-testid={`volume-${key}`} className={selected === key ? 'selected' : undefined}>
                  <th scope="row">
                    <span className="volume-name">
                      {v.name}
                      {v.bootable && <span className="badge muted">boot</span>}
                    </span>
                    <span className="cell-sub">{v.typeName ?? (info.floppy ? `${info.floppy} floppy` : 'no partition table')}</span>
                  </th>
                  <td>
                    {v.filesystem ? (
                      <>
                        {v.filesystem.type.toUpperCase()}
                        {v.filesystem.label && <span className="muted"> “{v.filesystem.label}”</span>}
                      </>
                    ) : (
                      <span className="muted">none</span>
                    )}
                    {mount?.mountDir && (
                      <span className="cell-sub" data-testid="mounted-at">
                        mounted at{' '}
                        {host ? (
                          <button type="button" className="link-button mono" onClick={() => void host.openFolder(mount.mountDir!)}>
                            {mount.mountDir}
                          </button>
                        ) : (
                          <span className="mono">{mount.mountDir}</span>
                        )}
                      </span>
                    )}
                  </td>
                  <td className="num">
                    {formatBytes(v.sizeBytes)}
                    {v.filesystem && v.filesystem.sizeBytes !== v.sizeBytes && (
                      <span className="cell-sub" data-testid="filesystem-size">
                        filesystem {formatBytes(v.filesystem.sizeBytes)}
                      </span>
                    )}
                  </td>
                  <td className="num">{v.filesystem ? formatBytes(v.filesystem.usedBytes) : '–'}</td>
                  <td className="num">{v.filesystem ? formatBytes(v.filesystem.freeBytes) : '–'}</td>
                  <td className="num">{v.filesystem ? percent(v.filesystem.usedBytes, v.filesystem.sizeBytes) : '–'}</td>
                  <td className="num mono">{v.startSector}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="button small"
                      onClick={() => browse(v)}
                      disabled={!v.filesystem}
                      aria-label={`Browse files of ${v.name}`}
                    >
                      Files
                    </button>
                    <button
                      type="button"
                      className="button small"
                      onClick={() => setFormatting(v)}
                      disabled={!!mount}
                      aria-label={`Format ${v.name}`}
                    >
                      Format…
                    </button>
                    {mount ? (
                      <button
                        type="button"
                        className="button small"
                        onClick={() => void unmountVolume(mount)}
                        disabled={!!loopsBusy}
                        aria-label={`Unmount ${v.name}`}
                      >
                        Unmount
                      </button>
                    ) : (
                      <button
                        type="button"
                        className="button small"
                        onClick={() => void mountVolume(info.path, v.partition)}
                        disabled={!v.filesystem || !!loopsBusy || !!loopReason}
                        title={
                          loopReason ?? (v.filesystem ? 'Attach to a loop device and mount it for your system’s tools' : 'Format it first')
                        }
                        aria-label={`Mount ${v.name}`}
                      >
                        Mount
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {loopsBusy && (
        <p className="muted" role="status">
          {loopsBusy}…
        </p>
      )}
      {loopsError && (
        <p className="callout error" role="alert" data-testid="loops-error">
          {loopsError}
        </p>
      )}
      {formatting && <FormatDialog info={info} volume={formatting} onClose={() => setFormatting(null)} />}
    </div>
  );
}
