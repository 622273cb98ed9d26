/**
 * `npm run web`: the app's UI in any browser, for machines without an Electron binary.
 * Listens on 127.0.0.1 only and prints the address with its one-time token.
 */
import { startHarness } from './server';

const portArg = process.argv.find((arg) => arg.startsWith('--port='));
const port = portArg ? Number(portArg.slice('--port='.length)) : 0;

startHarness({ port }).then(
  (harness) => {
    process.stdout.write(
      `Loopback Studio (web) is running.\nOpen: ${harness.url}\n` +
        `It listens on 127.0.0.1 only; the token in the address is this run's key. Ctrl+C stops it.\n`,
    );
    const stop = () => void harness.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  },
  (error: Error) => {
    process.stderr.write(`loopstudio web: ${error.message}\n`);
    process.exit(1);
  },
);
