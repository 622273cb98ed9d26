import { Component, type ErrorInfo, type ReactNode } from 'react';
import { logError } from '../../stores/activity';
import { Dialog } from './Dialog';
import { errorText } from './errors';

interface Props {
  /** What stopped, for the sentence: "the Files tab", "the New image wizard". */
  what: string;
  /** The way back: a button that leaves the broken screen (closes the dialog, goes to the start). */
  back?: { label: string; onClick: () => void };
  /** A new key (another image, another tab) starts the screen afresh. */
  resetKey?: unknown;
  /** 'dialog': the message in a dialog of its own (for a screen that was one). */
  variant?: 'inline' | 'dialog';
  children: ReactNode;
}

/**
 * One screen's error boundary: a bug that throws while drawing a screen takes down that screen
 * only. In its place: what stopped and why (also in the activity log), "Try again", and the way
 * back. The rest of the window — the sidebar, the status bar, the other screens — keeps working.
 */
export class ScreenBoundary extends Component<Props, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    logError(error, `${this.props.what.charAt(0).toUpperCase()}${this.props.what.slice(1)} stopped working`);
    console.error(error, info.componentStack);
  }

  override componentDidUpdate(previous: Props): void {
    if (this.state.error && previous.resetKey !== this.props.resetKey) this.setState({ error: null });
  }

  private retry = () => this.setState({ error: null });

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    const { what, back, variant = 'inline' } = this.props;
    const message = (
      <p className="screen-error-text">
        {what.charAt(0).toUpperCase()}
        {what.slice(1)} stopped working. {errorText(error)} This is a bug in Loopback Studio: the rest of the window still works, and the
        activity log has the details.
      </p>
    );
    const buttons = (
      <>
        <button type="button" className="button" onClick={this.retry}>
          Try again
        </button>
        {back && (
          <button type="button" className="button primary" onClick={back.onClick} data-autofocus>
            {back.label}
          </button>
        )}
      </>
    );
    if (variant === 'dialog') {
      return (
        <Dialog
          title={`${what.charAt(0).toUpperCase()}${what.slice(1)} stopped working`}
          onClose={back?.onClick ?? this.retry}
          testId="screen-error"
          footer={buttons}
        >
          <div role="alert">{message}</div>
        </Dialog>
      );
    }
    return (
      <section className="callout error screen-error" role="alert" data-testid="screen-error">
        {message}
        <div className="button-row">{buttons}</div>
      </section>
    );
  }
}
