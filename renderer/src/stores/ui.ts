/**
 * Which of the window's overlays is open: the new-image wizard, the open-image dialog, the
 * host-tools panel. The image view's own tab is here too, so a one-click action ("Launch in
 * QEMU", "Browse files") can switch to the tab it needs.
 */
import { create } from 'zustand';

export type WindowDialog = 'new-image' | 'open-image' | null;
export type ImageTab = 'overview' | 'files' | 'partitions' | 'qemu';

export interface UiState {
  dialog: WindowDialog;
  toolsOpen: boolean;
  tab: ImageTab;
}

export const initialUiState: UiState = { dialog: null, toolsOpen: false, tab: 'overview' };

export const useUiStore = create<UiState>()(() => initialUiState);

export function resetUiStore(): void {
  useUiStore.setState(initialUiState, true);
}

export function openDialog(dialog: WindowDialog): void {
  useUiStore.setState({ dialog });
}

export function setToolsOpen(open: boolean): void {
  useUiStore.setState({ toolsOpen: open });
}

export function setTab(tab: ImageTab): void {
  useUiStore.setState({ tab });
}
