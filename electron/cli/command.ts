/**
 * The shape every `loopstudio` subcommand has, and the output helpers they share: a human
 * rendering by default, machine-readable JSON with --json, errors on stderr (or as JSON).
 */
import type { parseArgs, ParseArgsConfig } from 'node:util';
import type { Services } from '../services';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Bytes to stdout, as they are (`get IMAGE PATH -`); resolves once written. */
  stdoutBytes?: (data: Uint8Array) => Promise<void>;
  /** Whether stderr is a terminal (progress bars are drawn only there). */
  isTty: boolean;
}

export interface CommandContext {
  /** Parsed --options (strings and booleans as node:util parseArgs gives them). */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  /** The arguments in the order given, for commands whose options form a sequence (partition). */
  tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>;
  json: boolean;
  io: CliIo;
  /**
   * The same services the app uses, created on first call: commands load their code when they
   * run (docs/ARCHITECTURE.md, "Built code"), so `--help` or `geometry` never load the services.
   */
  services: () => Promise<Services>;
}

export interface Command {
  name: string;
  summary: string;
  /** Usage lines shown by `loopstudio NAME --help`. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CommandContext): Promise<number>;
}

/** Prints a result: JSON with --json, else the human rendering. */
export function output(ctx: CommandContext, value: unknown, human: () => string): void {
  ctx.io.stdout(ctx.json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

/** Lays out rows in aligned columns, for terminals. */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}
