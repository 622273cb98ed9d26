/**
 * The services behind the API contract, callable from the Electron main process, the web harness
 * and the CLI alike. Nothing here imports `electron`: whoever hosts the services passes in what
 * only it knows (its shell, Electron's version) and a function that delivers events.
 */
import { basename } from 'node:path';
import packageJson from '../../package.json';
import {
  isMethodName,
  methods,
  type EventName,
  type EventPayload,
  type MethodName,
  type MethodParsedInput,
  type MethodResult,
} from '../../shared/api/contract';
import { copyJobTitle } from '../../shared/api/files';
import { LoopbackError, serializeError, type CallResult } from '../../shared/errors';
import type { HostToolsReport } from '../../shared/host/tools';
import { probeHostTools } from '../platform/host-tools';
import { bootloaderRequestFromApi, installBootloader } from './bootloaders';
import { imageInfo, partitionImage } from './disks';
import { getFiles, listFiles, makeFolder, normalizeImagePath, putFiles, removePath, renamePath } from './files';
import { createImage } from './images';
import { JobRunner } from './jobs';
import { LoopService, type LoopServiceOptions } from './loops';
import { previewPartitions } from './partition-preview';
import { DevLoopService } from './dev-loop';
import { QemuService } from './qemu';
import { recipeScript } from './recipe-script';
import { uploadFiles } from './uploads';
import { formatVolume, type VolumeRef } from './volumes';
import { buildRecipe, saveRecipe, summarizePlan, validateRecipeFile } from './recipes';

export interface ServiceHost {
  shell: 'electron' | 'web' | 'cli';
  electronVersion?: string | null;
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  /** Where the loop engine keeps its journal and mount points (default: the XDG folders). */
  loops?: Pick<LoopServiceOptions, 'stateDir' | 'mountRoot' | 'privileged'>;
}

export type Handlers = { [K in MethodName]: (input: MethodParsedInput<K>) => Promise<MethodResult<K>> };

export interface Services {
  handlers: Handlers;
  jobs: JobRunner;
  loops: LoopService;
  qemu: QemuService;
  /** `loopstudio run` and the app's Run button: build, boot, watch, rebuild (dev-loop.ts). */
  runs: DevLoopService;
  /**
   * What the host calls when it quits: stop this run's QEMU sessions, then release the loop
   * devices and mounts it made (one prompt). What cannot be released stays in the journal, and
   * the next start offers it for cleanup.
   */
  shutdown(): Promise<void>;
}

export function createServices(host: ServiceHost): Services {
  const jobs = new JobRunner((progress) => host.emit('jobProgress', progress));
  let toolsReport: Promise<HostToolsReport> | null = null;
  const loops = new LoopService({ ...host.loops, shell: host.shell, onChange: (state) => host.emit('loopsChanged', state) });

  const qemu = new QemuService({
    events: {
      serial: (payload) => host.emit('qemuSerial', payload),
      log: (payload) => host.emit('qemuLog', payload),
      exited: (payload) => host.emit('qemuExited', payload),
    },
  });
  const runs = new DevLoopService(qemu, (status) => host.emit('runChanged', status));

  const handlers: Handlers = {
    'app.version': async () => ({
      name: packageJson.productName,
      version: packageJson.version,
      electron: host.electronVersion ?? null,
      node: process.versions.node,
      platform: process.platform,
      arch: process.arch,
      shell: host.shell,
    }),
    'host.tools': async ({ refresh }) => {
      if (refresh || !toolsReport) toolsReport = probeHostTools();
      return toolsReport;
    },
    'image.create': async ({ path, force, ...shape }) =>
      createImage({
        path,
        force: force ?? false,
        shape: shape.floppy !== undefined ? { floppy: shape.floppy } : shape.chs !== undefined ? { chs: shape.chs } : { size: shape.size! },
      }),
    'image.info': async ({ path }) => imageInfo(path),
    'image.partition': async ({ path, dryRun, ...plan }) => (dryRun ? previewPartitions(path, plan) : partitionImage(path, plan)),
    'image.format': async ({ path, partition, fs, label, clusterBytes, blockBytes, partitionType }) =>
      jobs.run(
        `Format ${partition === undefined ? basename(path) : `partition ${partition} of ${basename(path)}`} as ${fs.toUpperCase()}`,
        (job) =>
          formatVolume(volumeRef(path, partition), {
            fs,
            ...(label !== undefined ? { label } : {}),
            ...(clusterBytes !== undefined ? { clusterBytes } : {}),
            ...(blockBytes !== undefined ? { blockBytes } : {}),
            ...(partitionType !== undefined ? { partitionType } : {}),
            signal: job.signal,
            onProgress: (p) => job.progress(p),
          }),
      ),
    'fs.list': async ({ path, partition, dir }) => listFiles(volumeRef(path, partition), dir),
    'fs.mkdir': async ({ path, partition, dir, parents }) => makeFolder(volumeRef(path, partition), dir, parents ?? false),
    'fs.remove': async ({ path, partition, target, recursive }) => removePath(volumeRef(path, partition), target, recursive ?? false),
    'fs.rename': async ({ path, partition, from, to }) => renamePath(volumeRef(path, partition), from, to),
    'fs.put': async ({ path, partition, sources, dest }) =>
      jobs.run(copyJobTitle(basename(path), partition), (job) =>
        putFiles(volumeRef(path, partition), sources, dest, { signal: job.signal, onProgress: (p) => job.progress(p) }),
      ),
    'fs.upload': async ({ path, partition, dest, files }) =>
      jobs.run(copyJobTitle(basename(path), partition), (job) =>
        uploadFiles(
          volumeRef(path, partition),
          dest,
          files.map((f) => ({
            name: f.name,
            data: Buffer.from(f.base64, 'base64'),
            ...(f.modifiedMs !== undefined ? { modifiedMs: f.modifiedMs } : {}),
          })),
          { signal: job.signal, onProgress: (p) => job.progress(p) },
        ),
      ),
    'fs.get': async ({ path, partition, source, out, overwrite }) =>
      jobs.run(`Extract ${normalizeImagePath(source)} from ${basename(path)}`, (job) =>
        getFiles(volumeRef(path, partition), source, out, {
          signal: job.signal,
          onProgress: (p) => job.progress(p),
          ...(overwrite ? { overwrite } : {}),
        }),
      ),
    'jobs.cancel': async ({ jobId }) => ({ cancelled: jobs.cancel(jobId) }),
    'loops.list': async () => loops.list(),
    'loops.attach': async ({ path, partition, partscan, readOnly }) =>
      loops.attach(path, {
        ...(partition !== undefined ? { partition } : {}),
        ...(partscan ? { partscan } : {}),
        ...(readOnly ? { readOnly } : {}),
      }),
    'loops.detach': async ({ device }) => loops.detach(device),
    'loops.mount': async ({ path, partition, dir, readOnly }) =>
      loops.mount(path, {
        ...(partition !== undefined ? { partition } : {}),
        ...(dir !== undefined ? { dir } : {}),
        ...(readOnly ? { readOnly } : {}),
      }),
    'loops.unmount': async ({ target }) => loops.unmount(target),
    'loops.cleanup': async ({ ids }) => loops.cleanup(ids),
    'qemu.commandLine': async (options) => qemu.commandLine(options),
    'qemu.start': async (options) => qemu.start(options),
    'qemu.stop': async ({ sessionId, graceMs }) => qemu.stop(sessionId, graceMs),
    'qemu.restart': async ({ sessionId }) => qemu.restart(sessionId),
    'qemu.status': async ({ sessionId }) => qemu.status(sessionId),
    'qemu.list': async () => ({ sessions: qemu.list() }),
    'qemu.sendSerial': async ({ sessionId, data }) => qemu.sendSerial(sessionId, data),
    'bootloader.install': async (input) =>
      jobs.run(`Install ${input.loader} on ${basename(input.path)}`, (job) =>
        installBootloader({ ...bootloaderRequestFromApi(input), signal: job.signal, onProgress: (p) => job.progress(p) }),
      ),
    'recipe.validate': async ({ path, allowOutside }) => {
      const plan = await validateRecipeFile(path, allowOutside ? { allowOutside } : {});
      return { ...summarizePlan(plan), script: recipeScript(plan) };
    },
    'recipe.save': async ({ path, recipe, force }) => saveRecipe(path, recipe, { force: force ?? false }),
    'recipe.build': async ({ path, output, force, allowOutside }) =>
      jobs.run(`Build ${basename(path)}`, (job) =>
        buildRecipe(path, {
          ...(output !== undefined ? { output } : {}),
          force: force ?? false,
          ...(allowOutside ? { allowOutside } : {}),
          signal: job.signal,
          onProgress: (p) => job.progress(p),
        }),
      ),
    'run.recipeFor': async ({ image }) => runs.recipeFor(image),
    'run.start': async (input) => ({ ...(await runs.start(input)).status }),
    'run.stop': async ({ runId }) => {
      const run = runs.run(runId);
      await run.stop();
      return { ...run.status };
    },
    'run.status': async ({ runId }) => ({ ...runs.run(runId).status }),
    'run.list': async () => ({ runs: runs.list() }),
    'run.setWatch': async ({ runId, watch }) => {
      const run = runs.run(runId);
      run.setWatch(watch);
      return { ...run.status };
    },
    'run.rebuild': async ({ runId }) => {
      const run = runs.run(runId);
      await run.rebuild();
      return { ...run.status };
    },
  };
  const shutdown = async (): Promise<void> => {
    await runs.stopAll();
    await qemu.stopAll();
    await loops.releaseOwn();
  };
  return { handlers, jobs, loops, qemu, runs, shutdown };
}

function volumeRef(image: string, partition: number | undefined): VolumeRef {
  return partition === undefined ? { image } : { image, partition };
}

/**
 * Validates a call against the contract and runs it: the one entry point both transports use.
 * Never throws; errors come back as the CallResult envelope.
 */
export async function dispatch(handlers: Handlers, name: unknown, payload: unknown): Promise<CallResult<unknown>> {
  try {
    if (!isMethodName(name)) {
      throw new LoopbackError('UNKNOWN_METHOD', `No such method: ${String(name).slice(0, 80)}`);
    }
    const parsed = methods[name].input.safeParse(payload ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
      throw new LoopbackError('INVALID_INPUT', `${name}: ${issues.join('; ')}`, { method: name, issues });
    }
    const handler = handlers[name] as (input: unknown) => Promise<unknown>;
    return { ok: true, value: await handler(parsed.data) };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  }
}
