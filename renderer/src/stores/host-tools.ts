import { create } from 'zustand';
import type { AppVersion } from '../../../shared/api/contract';
import type { HostToolsReport } from '../../../shared/host/tools';
import { api } from '../api';

export interface HostState {
  report: HostToolsReport | null;
  version: AppVersion | null;
  loading: boolean;
  error: string | null;
}

export const initialHostState: HostState = { report: null, version: null, loading: false, error: null };

export const useHostStore = create<HostState>()(() => initialHostState);

export function resetHostStore(): void {
  useHostStore.setState(initialHostState, true);
}

/** Loads the app's version and the host-tools report; `refresh` probes the host again. */
export async function loadHost(refresh = false): Promise<void> {
  useHostStore.setState({ loading: true, error: null });
  try {
    const [version, report] = await Promise.all([api().app.version({}), api().host.tools({ refresh })]);
    useHostStore.setState({ version, report, loading: false });
  } catch (error) {
    useHostStore.setState({ loading: false, error: (error as Error).message });
  }
}
