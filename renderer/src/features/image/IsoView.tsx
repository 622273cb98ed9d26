/**
 * An ISO 9660 image in the image view (issue 16), read-only: the Overview shows the volume, its
 * El Torito boot entries and its hybrid MBR; the Files tab browses its tree (Rock Ridge names and
 * links) and extracts from it, but offers nothing that writes — an ISO's files lie back to back,
 * so it is changed by building it again from its recipe.
 */
import { useEffect, useState } from 'react';
import type { ImageInfo } from '../../../../shared/api/contract';
import type { IsoImageInfo } from '../../../../shared/api/iso';
import type { DirEntry } from '../../../../shared/fs/types';
import { joinPath, listDir, refreshListing, showVolume, useFilesStore } from '../../stores/files';
import { dirname, formatBytes, formatDate } from '../common/format';
import { ExtractDialog } from '../files/FileForms';

const PLATFORMS: Record<string, string> = { bios: 'BIOS', efi: 'UEFI', powerpc: 'PowerPC', mac: 'Mac' };

function namesOf(iso: IsoImageInfo): string {
  if (iso.names === 'rock-ridge') return `Rock Ridge (POSIX names, modes, links)${iso.jolietLevel ? ', and Joliet for Windows' : ''}`;
  if (iso.names === 'joliet') return 'Joliet (no Rock Ridge)';
  return 'plain ISO 9660 names only';
}

/** The Overview of an ISO image. */
export function IsoOverview({ info }: { info: ImageInfo & { iso: IsoImageInfo } }) {
  const { iso } = info;
  const dated = iso.modificationMs ?? iso.creationMs;
  const entries = iso.bootCatalog?.entries ?? [];
  return (
    <section aria-labelledby="iso-title" data-testid="iso-overview">
      <h2 id="iso-title" className="section-title">
        ISO 9660 volume <span className="mono">“{iso.volumeIdentifier || '(no label)'}”</span>
      </h2>
      <dl className="facts">
        <div>
          <dt>Filesystem</dt>
          <dd>
            {formatBytes(iso.sizeBytes)} <span className="muted">— {namesOf(iso)}</span>
          </dd>
        </div>
        {dated !== null && (
          <div>
            <dt>Date</dt>
            <dd>
              {new Date(dated)
                .toISOString()
                .replace('T', ' ')
                .replace(/\.\d+Z$/, ' UTC')}
              {iso.uuid && <span className="muted mono"> UUID {iso.uuid}</span>}
            </dd>
          </div>
        )}
        <div>
          <dt>Boots with</dt>
          <dd data-testid="iso-boot">
            {entries.length === 0
              ? 'nothing: no El Torito boot record (a data CD)'
              : entries
                  .map((e) => `${PLATFORMS[e.platform] ?? e.platform}${e.path ? ` (${e.path})` : ' (an EFI partition after the files)'}`)
                  .join(', ')}
          </dd>
        </div>
        {iso.mbrPartitions && (
          <div>
            <dt>Hybrid MBR</dt>
            <dd>
              boots from a USB stick or as a hard disk too:{' '}
              {iso.mbrPartitions
                .map(
                  (p) =>
                    `partition ${p.number} (type ${p.type.toString(16).padStart(2, '0')}, sectors ${p.startSector}–${p.startSector + p.sectorCount - 1})`,
                )
                .join(', ')}
            </dd>
          </div>
        )}
      </dl>
      {entries.length > 0 && (
        <div className="table-scroll">
          <table className="data-table" data-testid="iso-boot-table">
            <caption className="visually-hidden">El Torito boot entries</caption>
            <thead>
              <tr>
                <th scope="col">Firmware</th>
                <th scope="col">Emulation</th>
                <th scope="col" className="num">
                  Sectors loaded
                </th>
                <th scope="col" className="num">
                  From block
                </th>
                <th scope="col">Boot image</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e, i) => (
                <tr key={i}>
                  <th scope="row">{PLATFORMS[e.platform] ?? e.platform}</th>
                  <td>{e.media}</td>
                  <td className="num">{e.sectorCount}</td>
                  <td className="num">{e.loadRba}</td>
                  <td className="mono">{e.path ?? '(appended EFI partition)'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="callout info" data-testid="iso-read-only">
        Read-only: Loopback Studio reads an ISO image and boots it (Launch in QEMU attaches it as a CD), but does not change it — its files
        lie back to back. To change it, change its recipe and build it again (<code>loopstudio build</code>), or extract its files and make
        a new image.
      </p>
    </section>
  );
}

/** The Files tab of an ISO image: browse and extract, nothing else. */
export function IsoBrowser({ info }: { info: ImageInfo }) {
  const volume = useFilesStore((s) => s.volume);
  const cwd = useFilesStore((s) => s.cwd);
  const entries = useFilesStore((s) => s.entries);
  const loading = useFilesStore((s) => s.loading);
  const error = useFilesStore((s) => s.error);
  const notice = useFilesStore((s) => s.notice);
  const [extracting, setExtracting] = useState<DirEntry | null>(null);
  const showing = volume?.image === info.path && volume.partition === null;

  useEffect(() => {
    if (!showing) void showVolume({ image: info.path, partition: null });
    else void refreshListing(info.path);
  }, [info.path, showing]);

  const crumbs = cwd.split('/').filter(Boolean);
  return (
    <section className="file-browser" aria-label="Files" data-testid="iso-browser">
      <div className="file-toolbar">
        <span className="muted" data-testid="iso-browser-note">
          ISO 9660 {info.iso ? `“${info.iso.volumeIdentifier}”` : ''}, read-only: extract files to the host; to change them, build the image
          again.
        </span>
      </div>
      <nav className="breadcrumbs" aria-label="Folder">
        <ol>
          <li>
            <button
              type="button"
              className="link-button"
              onClick={() => void listDir('/')}
              aria-current={crumbs.length === 0 ? 'location' : undefined}
            >
              ISO image
            </button>
          </li>
          {crumbs.map((part, i) => {
            const path = `/${crumbs.slice(0, i + 1).join('/')}`;
            return (
              <li key={path}>
                <button
                  type="button"
                  className="link-button"
                  onClick={() => void listDir(path)}
                  aria-current={i === crumbs.length - 1 ? 'location' : undefined}
                >
                  {part}
                </button>
              </li>
            );
          })}
        </ol>
      </nav>
      {notice && (
        <p
          className={`callout ${notice.level === 'error' ? 'error' : 'ok'}`}
          role={notice.level === 'error' ? 'alert' : 'status'}
          data-testid="files-notice"
        >
          {notice.text}
        </p>
      )}
      {error ? (
        <p className="callout error" role="alert">
          {error}
        </p>
      ) : (
        <div className="table-scroll file-table-wrap">
          <table className="data-table file-table" data-testid="file-table" aria-busy={loading}>
            <caption className="visually-hidden">Contents of {cwd}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col">Modified</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {cwd !== '/' && (
                <tr>
                  <th scope="row" colSpan={4}>
                    <button type="button" className="link-button entry-name" onClick={() => void listDir(dirname(cwd))}>
                      <span className="entry-icon folder" aria-hidden="true" />
                      .. <span className="visually-hidden">(up one folder)</span>
                    </button>
                  </th>
                </tr>
              )}
              {entries.map((entry) => (
                <tr key={entry.name} data-testid={`entry-${entry.name}`}>
                  <th scope="row">
                    {entry.type === 'directory' ? (
                      <button type="button" className="link-button entry-name" onClick={() => void listDir(joinPath(cwd, entry.name))}>
                        <span className="entry-icon folder" aria-hidden="true" />
                        {entry.name}
                      </button>
                    ) : (
                      <span className="entry-name">
                        <span className={`entry-icon ${entry.type}`} aria-hidden="true" />
                        {entry.name}
                        {entry.target && <span className="muted"> → {entry.target}</span>}
                      </span>
                    )}
                  </th>
                  <td className="num">{entry.type === 'directory' ? '—' : formatBytes(entry.sizeBytes)}</td>
                  <td>{formatDate(entry.modifiedMs)}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="button small"
                      onClick={() => setExtracting(entry)}
                      aria-label={`Extract ${entry.name}`}
                    >
                      Extract…
                    </button>
                  </td>
                </tr>
              ))}
              {!loading && entries.length === 0 && (
                <tr>
                  <td colSpan={4} className="muted">
                    This folder is empty.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      {extracting && <ExtractDialog entry={extracting} imagePath={info.path} onClose={() => setExtracting(null)} />}
    </section>
  );
}
