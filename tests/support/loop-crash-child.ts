/**
 * A stand-in for the app, for the crash-recovery test: it creates the services as the Electron
 * main process does, attaches a whole image (ATTACH_IMAGE, a copy: the helper refuses a second
 * device over bytes a live one shows) and mounts the first partition of IMAGE, says so on stdout,
 * and then waits to be killed.
 *
 *   node --require tsx/cjs loop-crash-child.ts IMAGE STATE_DIR MOUNT_ROOT ATTACH_IMAGE
 */
import { createServices } from '../../electron/services';

async function main(): Promise<void> {
  const [image, stateDir, mountRoot, attachImage] = process.argv.slice(2);
  if (!image || !stateDir || !mountRoot || !attachImage) throw new Error('usage: loop-crash-child IMAGE STATE_DIR MOUNT_ROOT ATTACH_IMAGE');
  const services = createServices({ shell: 'electron', emit: () => {}, loops: { stateDir, mountRoot } });
  process.stdout.write('STARTED\n');
  const attached = await services.loops.attach(attachImage);
  process.stdout.write(`ATTACHED ${attached.device}\n`);
  const mounted = await services.loops.mount(image, { partition: 1 });
  process.stdout.write(`MOUNTED ${mounted.mountDir}\n`);
  setInterval(() => {}, 60_000);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
