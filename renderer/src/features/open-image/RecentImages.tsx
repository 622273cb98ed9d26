import { useId, useState } from 'react';
import { basename, dirname } from '../common/format';
import { errorText } from '../common/errors';

/**
 * The recently opened images, newest first: open one with a click; one that cannot be opened any
 * more says why in its row, with a way to take it off the list. The welcome screen and the Open
 * image dialog show the same list.
 */
export function RecentImages({
  recent,
  heading,
  onOpen,
  onForget,
  headingLevel = 3,
}: {
  recent: readonly string[];
  heading: string;
  onOpen: (path: string) => Promise<unknown>;
  onForget: (path: string) => void;
  headingLevel?: 2 | 3;
}) {
  const titleId = useId();
  const [failed, setFailed] = useState<Record<string, string>>({});
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  return (
    <section className="recent" aria-labelledby={titleId} data-testid="recent-images">
      <Heading id={titleId} className="section-title">
        {heading}
      </Heading>
      <ul className="recent-list">
        {recent.map((path) => (
          <li key={path} className="recent-item">
            <button
              type="button"
              className="link-button recent-open"
              title={path}
              onClick={() =>
                void onOpen(path).then(
                  () => setFailed(({ [path]: _, ...rest }) => rest),
                  (error: unknown) => setFailed((f) => ({ ...f, [path]: errorText(error) })),
                )
              }
            >
              <span className="recent-name">{basename(path)}</span> <span className="recent-path">{dirname(path)}</span>
            </button>
            {failed[path] && (
              <span className="recent-error" role="alert">
                {failed[path]}{' '}
                <button type="button" className="link-button" onClick={() => onForget(path)}>
                  Remove from the list
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
