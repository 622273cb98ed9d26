import { selectImage, useImagesStore } from '../../stores/images';

export function Sidebar() {
  const images = useImagesStore((s) => s.images);
  const selectedPath = useImagesStore((s) => s.selectedPath);

  return (
    <nav className="sidebar" aria-label="Images">
      <div className="sidebar-header">
        <img className="app-mark" src="./icon.svg" alt="" />
        <span className="app-name">Loopback Studio</span>
      </div>
      <h2 className="sidebar-title">Images</h2>
      {images.length === 0 ? (
        <div className="sidebar-empty" data-testid="images-empty">
          <p>No images open.</p>
          <div className="sidebar-actions">
            <button type="button" className="button primary" disabled aria-describedby="images-soon">
              New image
            </button>
            <button type="button" className="button" disabled aria-describedby="images-soon">
              Open image
            </button>
          </div>
          <p id="images-soon" className="hint">
            Creating and opening images arrive with the disk core; until then, use the CLI: <code>npx loopstudio --help</code>.
          </p>
        </div>
      ) : (
        <ul className="image-list">
          {images.map((image) => (
            <li key={image.path}>
              <button
                type="button"
                className="image-item"
                aria-current={image.path === selectedPath ? 'true' : undefined}
                onClick={() => selectImage(image.path)}
                title={image.path}
              >
                {image.name}
              </button>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}
