/**
 * Finds the host programs of shared/host/tools.ts on this machine: where each is and what
 * version it reports. Runs each version command with an argument array (no shell) and a timeout.
 */
import { execFile } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import { delimiter, join } from 'node:path';
import {
  HOST_OSES,
  HOST_TOOLS,
  distroFamily,
  installHint,
  parseToolVersion,
  type HostOs,
  type HostToolSpec,
  type HostToolsReport,
  type ToolStatus,
} from '../../shared/host/tools';

/** sbin folders are not on an ordinary user's PATH on Debian, yet losetup and mkfs live there. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/opt/homebrew/bin', '/opt/homebrew/sbin'];

export function searchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.PATH ?? '').split(delimiter).filter(Boolean);
  return [...new Set([...fromEnv, ...(process.platform === 'win32' ? [] : EXTRA_DIRS)])];
}

/** The absolute path of an executable, looked up like a shell would (plus sbin), or null. */
export async function findExecutable(name: string, dirs: readonly string[] = searchPath()): Promise<string | null> {
  const names = process.platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of dirs) {
    for (const candidate of names) {
      const full = join(dir, candidate);
      try {
        await fs.access(full, constants.X_OK);
        const stat = await fs.stat(full);
        if (stat.isFile()) return full;
      } catch {
        // not here; keep looking
      }
    }
  }
  return null;
}

function runForVersion(path: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(path, [...args], { timeout: 5000, windowsHide: true, env: { ...process.env, LC_ALL: 'C' } }, (_error, stdout, stderr) => {
      // Many tools print their version on stderr, or exit non-zero for --help: read both anyway.
      resolve(`${stdout}\n${stderr}`);
    });
  });
}

async function probeTool(spec: HostToolSpec, os: HostOs | 'other', family: ReturnType<typeof distroFamily>): Promise<ToolStatus> {
  let path: string | null = null;
  for (const executable of spec.executables) {
    path = await findExecutable(executable);
    if (path) break;
  }
  const version = path && spec.versionArgs ? parseToolVersion(await runForVersion(path, spec.versionArgs)) : null;
  const rejected = path !== null && spec.accepts !== undefined && !(version !== null && spec.accepts.version(version));
  return {
    name: spec.name,
    role: spec.role,
    purpose: spec.purpose,
    applicable: os !== 'other' && spec.oses.includes(os),
    found: path !== null && !rejected,
    path,
    version,
    installHint: installHint(spec, family),
    ...(rejected ? { note: `${path} ${version ?? ''}: ${spec.accepts!.otherwise}`.replace('  ', ' ') } : {}),
  };
}

/** Reads ID, ID_LIKE and PRETTY_NAME from /etc/os-release (Linux, and some BSDs). */
export async function readOsRelease(file = '/etc/os-release'): Promise<Record<string, string>> {
  try {
    const text = await fs.readFile(file, 'utf8');
    const fields: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (match) fields[match[1]!] = match[2]!.replace(/^["']|["']$/g, '');
    }
    return fields;
  } catch {
    return {};
  }
}

export async function probeHostTools(platform: NodeJS.Platform = process.platform): Promise<HostToolsReport> {
  const os = (HOST_OSES as readonly string[]).includes(platform) ? (platform as HostOs) : 'other';
  const release = os === 'linux' ? await readOsRelease() : {};
  const family = distroFamily(platform, release.ID, release.ID_LIKE);
  const tools = await Promise.all(HOST_TOOLS.map((spec) => probeTool(spec, os, family)));
  return { os, family, osName: release.PRETTY_NAME ?? platform, tools };
}
