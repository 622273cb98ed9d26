import { useEffect, useRef, useState, type DragEvent } from 'react';
import type { ImageInfo } from '../../../../shared/api/contract';
import { copyJobTitle } from '../../../../shared/api/files-plain';
import type { DirEntry } from '../../../../shared/fs/types';
import { hostBridge } from '../../host';
import { cancelJob, useActivityStore } from '../../stores/activity';
import {
  copyHostPaths,
  joinPath,
  listDir,
  refreshListing,
  showVolume,
  uploadDropped,
  useFilesStore,
  type DroppedFile,
} from '../../stores/files';
import { useLoopsStore } from '../../stores/loops';
import { basename, dirname, formatBytes, formatDate, percent } from '../common/format';
import { jobAmount, jobFraction, ProgressBar } from '../common/ProgressBar';
import { volumeLabel, volumesOf } from '../image/volumes';
import { carriesFiles, readDrop } from './drop';
import { DeleteDialog, ExtractDialog, NewFolderRow, RenameField } from './FileForms';

/** The file browser of one volume: folders, sizes, dates; make, delete, rename, extract; drop files in. */
export function FileBrowser({ info }: { info: ImageInfo }) {
  const volume = useFilesStore((s) => s.volume);
  const cwd = useFilesStore((s) => s.cwd);
  const entries = useFilesStore((s) => s.entries);
  const loading = useFilesStore((s) => s.loading);
  const error = useFilesStore((s) => s.error);
  const copying = useFilesStore((s) => s.copying);
  const notice = useFilesStore((s) => s.notice);
  const via = useFilesStore((s) => s.via);
  const loops = useLoopsStore((s) => s.state);
  const [dragging, setDragging] = useState(false);
  const [newFolder, setNewFolder] = useState(false);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [extracting, setExtracting] = useState<DirEntry | null>(null);
  const [deleting, setDeleting] = useState<DirEntry | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const host = hostBridge();

  const volumes = volumesOf(info).filter((v) => v.filesystem);
  const current = volumes.find((v) => volume?.image === info.path && v.partition === volume.partition) ?? null;
  const title = copyJobTitle(basename(info.path), current?.partition ?? undefined);
  const job = useActivityStore((s) => s.jobs.findLast((j) => j.title === title && j.state === 'running'));

  const first = volumes[0]?.partition;
  const showing = current !== null;
  useEffect(() => {
    // Show the first volume with a filesystem unless one of this image is shown already.
    if (!showing && first !== undefined) void showVolume({ image: info.path, partition: first });
  }, [info.path, showing, first]);
  useEffect(() => {
    // A mount came or went (or the tab opened): list again, so the folder comes from where the
    // services now read it — the mount, or the image — and the banner says which.
    void refreshListing(info.path);
  }, [info.path, loops]);

  if (volumes.length === 0) {
    return (
      <p className="empty-state" data-testid="files-empty">
        No volume of this image has a filesystem yet. Format the disk or a partition (Overview → Format…) to put files in it.
      </p>
    );
  }

  const drop = (event: DragEvent) => {
    event.preventDefault();
    event.stopPropagation();
    setDragging(false);
    if (copying) return;
    const dropped = readDrop(event.dataTransfer, host);
    if (dropped.kind === 'paths') void copyHostPaths(dropped.paths);
    else if (dropped.kind === 'files') void dropped.read().then((files) => uploadDropped(files));
  };

  const dragOver = (event: DragEvent) => {
    if (!carriesFiles(event.dataTransfer)) return;
    event.preventDefault();
    event.stopPropagation();
    event.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  };

  const pickFiles = (files: FileList | null) => {
    if (!files || files.length === 0) return;
    const paths = host ? [...files].map((f) => host.pathForFile(f)).filter((p): p is string => p !== null) : [];
    if (paths.length === files.length) void copyHostPaths(paths);
    else void uploadDropped([...files].map((file): DroppedFile => ({ name: file.name, file })));
    if (fileInput.current) fileInput.current.value = '';
  };

  const crumbs = cwd.split('/').filter(Boolean);

  return (
    <section
      className={`file-browser${dragging ? ' dragging' : ''}`}
      aria-label="Files"
      data-testid="file-browser"
      onDragEnter={dragOver}
      onDragOver={dragOver}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={drop}
    >
      <div className="file-toolbar">
        <label className="inline-field">
          <span>Volume</span>
          <select
            className="input"
            value={current?.partition ?? 'whole'}
            onChange={(e) => void showVolume({ image: info.path, partition: e.target.value === 'whole' ? null : Number(e.target.value) })}
          >
            {volumes.map((v) => (
              <option key={v.partition ?? 'whole'} value={v.partition ?? 'whole'}>
                {volumeLabel(v)}
              </option>
            ))}
          </select>
        </label>
        {current?.filesystem && (
          <span className="muted usage" data-testid="volume-usage">
            {formatBytes(current.filesystem.usedBytes)} used of the filesystem’s {formatBytes(current.filesystem.sizeBytes)} (
            {percent(current.filesystem.usedBytes, current.filesystem.sizeBytes)}), {formatBytes(current.filesystem.freeBytes)} free
            {current.filesystem.sizeBytes !== current.sizeBytes &&
              ` · the ${current.partition === null ? (info.floppy ? 'floppy' : 'image') : `partition`} is ${formatBytes(current.sizeBytes)}: the rest holds the filesystem’s own structures`}
          </span>
        )}
        <span className="toolbar-spacer" />
        <button type="button" className="button small" onClick={() => setNewFolder(true)} disabled={newFolder}>
          New folder
        </button>
        <button type="button" className="button small" onClick={() => fileInput.current?.click()} disabled={copying}>
          Add files…
        </button>
        <input ref={fileInput} type="file" multiple hidden onChange={(e) => pickFiles(e.target.files)} data-testid="add-files-input" />
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
              {current ? current.name : '/'}
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

      {via && (
        <p className="callout info mount-banner" role="status" data-testid="files-mounted">
          {via.readOnly ? (
            <>
              Mounted read-only at <span className="mono">{via.mountDir}</span> — files can be read and extracted through it; unmount it to
              change them
            </>
          ) : (
            <>
              Mounted at <span className="mono">{via.mountDir}</span> — changes go through the system's filesystem driver
            </>
          )}
        </p>
      )}
      {(copying || job) && (
        <div className="transfer" role="status" data-testid="copy-progress">
          <span>
            {job
              ? `${job.phase === 'starting' ? 'Preparing' : job.phase.charAt(0).toUpperCase() + job.phase.slice(1)} — ${jobAmount(job)}`
              : 'Sending files…'}
          </span>
          <ProgressBar fraction={job ? jobFraction(job) : null} label={`Copying into ${cwd}`} />
          {job && (
            <button type="button" className="button small" onClick={() => void cancelJob(job.jobId)}>
              Cancel
            </button>
          )}
        </div>
      )}
      {notice && !copying && (
        <p
          className={`callout ${notice.level === 'error' ? 'error' : 'ok'}`}
          role={notice.level === 'error' ? 'alert' : 'status'}
          data-testid="files-notice"
        >
          {notice.text}
        </p>
      )}
      {newFolder && <NewFolderRow onDone={() => setNewFolder(false)} />}
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
                    {renaming === entry.name ? (
                      <RenameField entry={entry} onDone={() => setRenaming(null)} />
                    ) : entry.type === 'directory' ? (
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
                      onClick={() => setRenaming(entry.name)}
                      aria-label={`Rename ${entry.name}`}
                    >
                      Rename
                    </button>
                    <button
                      type="button"
                      className="button small"
                      onClick={() => setExtracting(entry)}
                      aria-label={`Extract ${entry.name}`}
                    >
                      Extract…
                    </button>
                    <button type="button" className="button small" onClick={() => setDeleting(entry)} aria-label={`Delete ${entry.name}`}>
                      Delete
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
      <p className="drop-hint" aria-hidden={dragging ? undefined : true}>
        {dragging ? `Drop to copy into ${cwd}` : `Drag files or folders here to copy them into ${cwd} — or use Add files…`}
      </p>
      {extracting && <ExtractDialog entry={extracting} imagePath={info.path} onClose={() => setExtracting(null)} />}
      {deleting && <DeleteDialog entry={deleting} cwd={cwd} onClose={() => setDeleting(null)} />}
    </section>
  );
}
