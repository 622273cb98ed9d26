import type { HostToolsReport, ToolRole, ToolStatus } from '../../../../shared/host/tools';

export interface ToolsSummary {
  total: number;
  found: number;
  missing: string[];
}

/** Counts only the tools this system uses (losetup on Linux, mdconfig on FreeBSD …). */
export function summarizeTools(report: HostToolsReport): ToolsSummary {
  const applicable = report.tools.filter((t) => t.applicable);
  return {
    total: applicable.length,
    found: applicable.filter((t) => t.found).length,
    missing: applicable.filter((t) => !t.found).map((t) => t.name),
  };
}

export const ROLE_LABELS: Record<ToolRole, string> = {
  loop: 'Loop devices',
  mount: 'Mounting',
  format: 'Formatting (host tools)',
  partition: 'Partition checks',
  boot: 'GRUB 2',
  run: 'QEMU',
  verify: 'Verification',
};

/** Whether every applicable tool of a role is present. */
export function roleReady(tools: readonly ToolStatus[], role: ToolRole): boolean | null {
  const ofRole = tools.filter((t) => t.applicable && t.role === role);
  if (ofRole.length === 0) return null;
  return ofRole.some((t) => t.found);
}
