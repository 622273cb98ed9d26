/**
 * `loopstudio`: the command-line twin of the app. Every command works headless, prints what it
 * did for a person, and gives machine-readable results with --json.
 */
import { parseArgs } from 'node:util';
import packageJson from '../../package.json';
import { serializeError } from '../../shared/errors';
import type { Services } from '../services';
import { table, type CliIo, type Command } from './command';

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdoutBytes: (data) =>
    new Promise<void>((resolve, reject) => {
      // A reader that went away (`get … - | head`) fails the write (EPIPE), not the process.
      if (process.stdout.listenerCount('error') === 0) process.stdout.on('error', () => {});
      process.stdout.write(data, (error) => (error ? reject(error) : resolve()));
    }),
  isTty: Boolean(process.stderr.isTTY),
};

function mainHelp(commands: readonly Command[]): string {
  return (
    `loopstudio ${packageJson.version} — disk images for your own operating system\n\n` +
    `Usage: loopstudio <command> [options]\n\nCommands:\n` +
    `${table(
      commands.map((c) => [c.name, c.summary]),
      '  ',
    )}\n\n` +
    `Options:\n${table(
      [
        ['--help, -h', 'show help (also: loopstudio <command> --help)'],
        ['--version, -V', 'print the version'],
        ['--json', 'machine-readable output (every command)'],
      ],
      '  ',
    )}\n`
  );
}

function commandHelp(command: Command): string {
  return `${command.summary}\n\nUsage: ${command.usage}\n`;
}

/**
 * A message for a terminal: control characters but newline and tab escaped (\x1b …). Messages
 * may quote names read from an image, which must not move the cursor or recolour the screen.
 */
function terminalSafe(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Runs the CLI and returns its exit code: 0 success, 1 failure, 2 usage error. */
export async function run(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V') {
    io.stdout(`${packageJson.version}\n`);
    return 0;
  }
  // The command table (names, options, help) is loaded only now: `--version` loads nothing else,
  // and each command loads its own code when it runs.
  const { COMMANDS } = await import('./commands/index');
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout(mainHelp(COMMANDS));
    return first === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    io.stderr(`loopstudio: unknown command '${first}'. Run 'loopstudio --help' for the list.\n`);
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    io.stderr(`loopstudio ${command.name}: ${(error as Error).message}\nUsage: ${command.usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout(commandHelp(command));
    return 0;
  }
  const json = Boolean(parsed.values.json);
  try {
    let services: Promise<Services> | null = null;
    const loadServices = (): Promise<Services> =>
      (services ??= import('../services').then(({ createServices }) =>
        // The CLI shows job progress itself; events have no other listener here.
        createServices({ shell: 'cli', emit: () => {} }),
      ));
    return await command.run({
      values: parsed.values,
      positionals: parsed.positionals,
      tokens: parsed.tokens ?? [],
      json,
      io,
      services: loadServices,
    });
  } catch (error) {
    const serialized = serializeError(error);
    if (json) io.stdout(`${JSON.stringify({ error: serialized }, null, 2)}\n`);
    else io.stderr(`loopstudio ${command.name}: ${terminalSafe(serialized.message)}\n`);
    return serialized.code === 'INVALID_INPUT' ? 2 : 1;
  }
}
