import { Component, lazy, Suspense, useState, type ComponentType, type ReactNode } from 'react';

/**
 * A part of the window whose code is loaded on first use (React.lazy and a dynamic import(), so
 * the bundler puts it in a chunk of its own that index.html does not load). While the chunk
 * loads, a "Loading …" line; if it cannot be loaded (a broken install, the harness gone), the
 * reason and a retry in its place, instead of the error taking down the whole window.
 */
export function lazyPart<P extends object>(load: () => Promise<ComponentType<P>>, what: string): ComponentType<P> {
  // React.lazy remembers a failed load; a retry needs a fresh one.
  const make = () => lazy(async () => ({ default: await load() }));
  let Loaded = make();
  function LazyPart(props: P) {
    const [, setAttempt] = useState(0);
    const retry = () => {
      Loaded = make();
      setAttempt((n) => n + 1);
    };
    return (
      <LoadBoundary what={what} onRetry={retry}>
        <Suspense
          fallback={
            <p className="lazy-loading muted" role="status" aria-busy="true">
              Loading {what}…
            </p>
          }
        >
          <Loaded {...props} />
        </Suspense>
      </LoadBoundary>
    );
  }
  LazyPart.displayName = `lazyPart(${what})`;
  return LazyPart;
}

class LoadBoundary extends Component<{ what: string; onRetry: () => void; children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="callout error" role="alert">
        Could not load {this.props.what}: {error.message}{' '}
        <button
          type="button"
          className="button small"
          onClick={() => {
            this.setState({ error: null });
            this.props.onRetry();
          }}
        >
          Try again
        </button>
      </div>
    );
  }
}
