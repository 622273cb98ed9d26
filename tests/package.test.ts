/**
 * What users install (issue 11): the npm package `npm pack` makes from the built tree, installed
 * globally into a temporary prefix as `npm install -g ./loopback-studio-*.tgz` would, and the
 * desktop packages' `loopstudio` launcher (assets/cli) with Node standing in for the Electron
 * binary. Both must run the built CLI: nothing transpiled, nothing loaded from /tmp/tsx-*.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../package.json';
import { bootTestsMissing } from './support/boot';
import { missingTools, runTool, runToolOk, tempDir } from './support/host';
import { BOOT_SECTOR_LINE, buildBootSector } from './support/test-kernel';

const ROOT = resolve(__dirname, '..');
const built = existsSync(join(ROOT, 'out/cli/main.mjs')) && existsSync(join(ROOT, 'out/privileged/helper.cjs'));
const skip = !built ? 'the tree is not built (npm run build)' : missingTools('npm', 'strace');

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('loopstudio-package-')));
afterAll(() => cleanup());

describe.skipIf(skip)(`the npm package${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let prefix: string;
  let loopstudio: string;
  let installed: string;

  beforeAll(() => {
    // --ignore-scripts: `npm test` has just built; prepack would build the same again.
    const packed = runToolOk('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      env: { npm_config_loglevel: 'error' },
    });
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    writeFileSync(join(dir, 'files.json'), JSON.stringify(files.map((f) => f.path)));
    prefix = join(dir, 'prefix');
    runToolOk('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', join(dir, filename)]);
    loopstudio = join(prefix, 'bin/loopstudio');
    installed = join(prefix, 'lib/node_modules', packageJson.name);
  }, 180_000);

  it('holds the built CLI and helper, the examples and docs, and no sources or tests', () => {
    const files: string[] = JSON.parse(readFileSync(join(dir, 'files.json'), 'utf8'));
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/loopstudio.cjs',
        'out/cli/main.mjs',
        'out/privileged/helper.cjs',
        'examples/floppy-boot-sector.json',
        'docs/SECURITY.md',
        'package.json',
        'README.md',
      ]),
    );
    expect(files.filter((f) => /\.(ts|tsx)$|\.test\.|(^|\/)(tests|e2e|renderer|node_modules)\//.test(f))).toEqual([]);
    // No dev dependency (Electron, tsx, vite …) was installed with it.
    for (const dev of ['electron', 'tsx', 'vite', 'esbuild']) expect(existsSync(join(installed, 'node_modules', dev))).toBe(false);
  });

  it('runs --help and doctor from the global install', () => {
    expect(runToolOk(loopstudio, ['--version']).stdout.trim()).toBe(packageJson.version);
    expect(runToolOk(loopstudio, ['--help']).stdout).toContain('Usage: loopstudio <command> [options]');
    const doctor = runTool(loopstudio, ['doctor', '--json']);
    expect(doctor.status).toBe(0);
    expect(JSON.parse(doctor.stdout).tools.length).toBeGreaterThan(5);
  });

  it.skipIf(bootTestsMissing())('builds a shipped example and boots it with qemu --expect, loading nothing from /tmp/tsx-*', () => {
    const work = join(dir, 'work');
    mkdirSync(work);
    copyFileSync(join(installed, 'examples/floppy-boot-sector.json'), join(work, 'floppy.json'));
    buildBootSector(work);
    const image = join(work, 'floppy.img');
    const log = join(dir, 'build.strace');
    // Every file the whole process tree touched, children included.
    runToolOk('strace', [
      '-f',
      '-qq',
      '-e',
      'trace=%file,%process',
      '-o',
      log,
      loopstudio,
      'build',
      join(work, 'floppy.json'),
      '-o',
      image,
    ]);
    const traced = readFileSync(log, 'utf8');
    expect(traced).toContain(join(installed, 'out/cli/main.mjs'));
    expect(traced).not.toMatch(/\/tmp\/tsx-|node_modules\/tsx\//);
    const boot = runTool(loopstudio, ['qemu', image, '--floppy', '--expect', BOOT_SECTOR_LINE, '--timeout', '30']);
    expect(boot.status).toBe(0);
    expect(boot.stdout).toContain(BOOT_SECTOR_LINE);
  });

  it.skipIf(process.getuid?.() !== 0 || missingTools('losetup'))(
    'starts the root helper from its built bundle, with a fixed environment',
    () => {
      const image = join(dir, 'attach.img');
      runToolOk(loopstudio, ['create', image, '--size', '1M']);
      const log = join(dir, 'attach.strace');
      const attach = runToolOk(
        'strace',
        ['-f', '-qq', '-s', '4096', '-v', '-e', 'trace=execve', '-o', log, loopstudio, 'attach', image, '--json'],
        { env: { NODE_OPTIONS: '--max-old-space-size=512' } },
      );
      const device = JSON.parse(attach.stdout).device as string;
      try {
        const helperExec = readFileSync(log, 'utf8')
          .split('\n')
          .find((line) => line.includes('helper.cjs'));
        expect(helperExec).toContain(`"${join(installed, 'out/privileged/helper.cjs')}"`);
        // The environment the helper got: PATH of the system folders, none of ours.
        expect(helperExec).toContain('"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"');
        expect(helperExec).not.toContain('NODE_OPTIONS');
      } finally {
        // Only the device this test attached (it names our image), through loopstudio itself.
        expect(runTool('losetup', ['-n', '-O', 'BACK-FILE', device]).stdout.trim()).toBe(image);
        runToolOk(loopstudio, ['detach', device]);
      }
    },
  );
});

describe.skipIf(!built)('the desktop packages’ loopstudio launcher (assets/cli/loopstudio)', () => {
  it('runs the bundled CLI with the app binary as Node (ELECTRON_RUN_AS_NODE=1), through a /usr/bin link', () => {
    // The layout electron-builder makes: <app>/loopback-studio, <app>/resources/bin/loopstudio,
    // <app>/resources/app.asar.unpacked/{bin,out/cli,out/privileged}.
    const app = join(dir, 'opt/Loopback Studio');
    const resources = join(app, 'resources');
    const unpacked = join(resources, 'app.asar.unpacked');
    mkdirSync(join(unpacked, 'bin'), { recursive: true });
    copyFileSync(join(ROOT, 'bin/loopstudio.cjs'), join(unpacked, 'bin/loopstudio.cjs'));
    cpSync(join(ROOT, 'out/cli'), join(unpacked, 'out/cli'), { recursive: true });
    mkdirSync(join(resources, 'bin'));
    copyFileSync(join(ROOT, 'assets/cli/loopstudio'), join(resources, 'bin/loopstudio'));
    chmodSync(join(resources, 'bin/loopstudio'), 0o755);
    // Node stands in for the Electron binary, recording the environment it was started with.
    const stand = join(app, 'loopback-studio');
    writeFileSync(stand, `#!/bin/sh\necho "$ELECTRON_RUN_AS_NODE" > "${join(dir, 'run-as-node')}"\nexec "${process.execPath}" "$@"\n`);
    chmodSync(stand, 0o755);
    const usrBin = join(dir, 'usr/bin');
    mkdirSync(usrBin, { recursive: true });
    symlinkSync(join(resources, 'bin/loopstudio'), join(usrBin, 'loopstudio'));

    const version = runToolOk(join(usrBin, 'loopstudio'), ['--version']);
    expect(version.stdout.trim()).toBe(packageJson.version);
    expect(readFileSync(join(dir, 'run-as-node'), 'utf8').trim()).toBe('1');
    const geometry = runToolOk(join(usrBin, 'loopstudio'), ['geometry', '--cylinders', '1000', '--json']);
    expect(JSON.parse(geometry.stdout)).toMatchObject({ bytesPerCylinder: 516096 });
  });
});
