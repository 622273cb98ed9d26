import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json';
import { jobProgressSchema, methodNames, type JobProgress } from '../../shared/api/contract';
import { LoopbackError } from '../../shared/errors';
import { createServices, dispatch } from '.';
import { JobRunner } from './jobs';

const services = () => createServices({ shell: 'cli', emit: () => {} });

describe('dispatch: the one entry point of both transports', () => {
  it('has a handler for every method of the contract', () => {
    expect(Object.keys(services().handlers).sort()).toEqual([...methodNames].sort());
  });

  it('answers app.version from package.json', async () => {
    const result = await dispatch(services().handlers, 'app.version', {});
    expect(result).toEqual({
      ok: true,
      value: expect.objectContaining({ version: packageJson.version, name: 'Loopback Studio', shell: 'cli', electron: null }),
    });
  });

  it('refuses unknown methods by name', async () => {
    const result = await dispatch(services().handlers, 'fs.deleteEverything', {});
    expect(result).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'UNKNOWN_METHOD', message: 'No such method: fs.deleteEverything' }),
    });
  });

  it('refuses input that fails the schema, saying which field', async () => {
    const extra = await dispatch(services().handlers, 'app.version', { shell: 'rm -rf /' });
    expect(extra.ok).toBe(false);
    if (!extra.ok) expect(extra.error.code).toBe('INVALID_INPUT');
    const wrongType = await dispatch(services().handlers, 'host.tools', { refresh: 'yes' });
    expect(wrongType.ok).toBe(false);
    if (!wrongType.ok) expect(wrongType.error.message).toMatch(/^host\.tools: refresh: /);
    const wrongJob = await dispatch(services().handlers, 'jobs.cancel', { jobId: '' });
    expect(wrongJob.ok).toBe(false);
  });

  it('turns a thrown error into the envelope, keeping code and details', async () => {
    const s = services();
    s.handlers['host.tools'] = async () => {
      throw new LoopbackError('IO', 'disk on fire', { sector: 63 });
    };
    expect(await dispatch(s.handlers, 'host.tools', {})).toEqual({
      ok: false,
      error: { name: 'LoopbackError', code: 'IO', message: 'disk on fire', details: { sector: 63 } },
    });
  });
});

describe('jobs', () => {
  it('reports progress events that match the contract, and the final state', async () => {
    const events: JobProgress[] = [];
    const runner = new JobRunner((p) => events.push(p), 0);
    const result = await runner.run('Copy files', async (job) => {
      job.progress({ phase: 'copying', bytesTotal: 300 });
      for (let i = 1; i <= 3; i++) job.progress({ bytesDone: i * 100 });
      return 42;
    });
    expect(result).toBe(42);
    for (const event of events) expect(jobProgressSchema.parse(event)).toEqual(event);
    expect(events[0]).toMatchObject({ state: 'running', title: 'Copy files' });
    expect(events.at(-1)).toMatchObject({ state: 'done', bytesDone: 300, bytesTotal: 300 });
  });

  it('can be cancelled, and ends in the cancelled state', async () => {
    const events: JobProgress[] = [];
    const runner = new JobRunner((p) => events.push(p), 0);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = runner.run('Format', async (job) => {
      await gate;
      job.checkCancelled();
      return 'finished';
    });
    const [jobId] = runner.activeJobIds;
    expect(runner.cancel(jobId!)).toBe(true);
    release();
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(events.at(-1)).toMatchObject({ state: 'cancelled' });
    expect(runner.cancel(jobId!)).toBe(false);
  });

  it('reports failure with the error', async () => {
    const events: JobProgress[] = [];
    const runner = new JobRunner((p) => events.push(p), 0);
    await expect(runner.run('Boom', async () => Promise.reject(new LoopbackError('IO', 'no space left')))).rejects.toThrow('no space left');
    expect(events.at(-1)).toMatchObject({ state: 'failed', error: { code: 'IO', message: 'no space left' } });
  });

  it('throttles progress but always sends phase changes and the end', async () => {
    const events: JobProgress[] = [];
    const runner = new JobRunner((p) => events.push(p), 60_000);
    await runner.run('Many', async (job) => {
      for (let i = 0; i < 1000; i++) job.progress({ bytesDone: i });
      job.progress({ phase: 'verifying' });
    });
    expect(events.map((e) => e.phase)).toEqual(['starting', 'verifying', 'done']);
  });
});

describe('image methods through dispatch (what the app and the harness call)', () => {
  it('creates, partitions and describes an image, validated against the contract', async () => {
    const { tempDir, runToolOk, missingTools } = await import('../../tests/support/host');
    const { join } = await import('node:path');
    const { dir, cleanup } = tempDir();
    try {
      const { handlers } = services();
      const path = join(dir, 'c.img');
      expect(await dispatch(handlers, 'image.create', { path, chs: '1000/16/63' })).toMatchObject({
        ok: true,
        value: { sizeBytes: 516_096_000 },
      });
      const edited = await dispatch(handlers, 'image.partition', {
        path,
        table: 'mbr',
        steps: [{ op: 'add', spec: 'start=63,size=rest,type=83,bootable' }],
      });
      expect(edited).toMatchObject({
        ok: true,
        value: { after: { table: 'mbr', partitions: [{ offsetBytes: 32256, blocks1KiB: 503968 }] } },
      });
      expect(await dispatch(handlers, 'image.info', { path })).toMatchObject({ ok: true, value: { geometry: { cylinders: 1000 } } });
      if (!missingTools('sfdisk')) expect(runToolOk('sfdisk', ['--json', path]).stdout).toContain('"start": 63');

      const both = await dispatch(handlers, 'image.create', { path: join(dir, 'x.img'), size: '1M', floppy: '1.44M' });
      expect(both).toMatchObject({
        ok: false,
        error: { code: 'INVALID_INPUT', message: expect.stringContaining('give exactly one of size, chs, floppy') },
      });
      const badStep = await dispatch(handlers, 'image.partition', { path, steps: [{ op: 'format', spec: 'x' }] });
      expect(badStep).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    } finally {
      cleanup();
    }
  });
});
