import { formatBytes } from '../../../../shared/disk/sizes';
import { closeImage, selectImage, useImagesStore, type OpenImage } from '../../stores/images';
import { openDialog } from '../../stores/ui';

function kindOf(image: OpenImage): string {
  const info = image.info;
  if (!info) return '';
  if (info.iso) return `ISO 9660${info.iso.mbrPartitions ? ', hybrid' : ''}`;
  if (info.floppy) return `${info.floppy} floppy`;
  if (info.table === 'none') return info.filesystem ? `${info.filesystem.type.toUpperCase()} disk` : 'blank disk';
  return `${info.table.toUpperCase()}, ${info.partitions.length} partition${info.partitions.length === 1 ? '' : 's'}`;
}

export function Sidebar() {
  const images = useImagesStore((s) => s.images);
  const selectedPath = useImagesStore((s) => s.selectedPath);

  return (
    <nav className="sidebar" aria-label="Images">
      <div className="sidebar-header">
        <img className="app-mark" src="./icon.svg" alt="" />
        <span className="app-name">Loopback Studio</span>
      </div>
      <div className="sidebar-actions">
        <button type="button" className="button primary" onClick={() => openDialog('new-image')}>
          New image…
        </button>
        <button type="button" className="button" onClick={() => openDialog('open-image')}>
          Open image…
        </button>
      </div>
      <h2 className="sidebar-title">Images</h2>
      {images.length === 0 ? (
        <div className="sidebar-empty" data-testid="images-empty">
          <p>No images open.</p>
          <p className="hint">Create a floppy or a hard disk image, or open one you already have.</p>
        </div>
      ) : (
        <ul className="image-list">
          {images.map((image) => (
            <li key={image.path} className="image-row">
              <button
                type="button"
                className="image-item"
                aria-current={image.path === selectedPath ? 'true' : undefined}
                onClick={() => selectImage(image.path)}
                title={image.path}
              >
                <span className="image-name">{image.name}</span>
                <span className="image-kind">
                  {image.info ? `${formatBytes(image.info.sizeBytes)} · ${kindOf(image)}` : image.loading ? 'reading…' : ''}
                </span>
              </button>
              <button
                type="button"
                className="icon-button image-close"
                aria-label={`Close ${image.name}`}
                title="Close"
                onClick={() => closeImage(image.path)}
              >
                <span aria-hidden="true">×</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}
