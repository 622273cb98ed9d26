import { formatBytes } from '../../../shared/disk/sizes';
import { LoopbackError } from '../../../shared/errors';
import type { BuildResult, RecipeSummary } from '../../services/recipes';
import { output, type Command } from '../command';
import { progressFor } from '../progress';

const usage =
  'loopstudio build RECIPE.json [-o IMAGE] [--force] [--update [--full]] [--check | --print-commands] [--allow-outside DIR]… [--json]\n\n' +
  'A recipe copies files only from its own folder (links included): one from someone else cannot read\n' +
  'your other files. --allow-outside DIR (repeatable) lets it read DIR too.\n' +
  '--update brings IMAGE up to date the way `loopstudio run` does: only what changed since the last\n' +
  'update (the changed files, the menu), a full build when the layout changed; it keeps what was built\n' +
  'from what beside the image (.IMAGE.build-state.json). An image without it is replaced only with --force.';

/** An ISO recipe's lines: the volume, its date, its boot entries. */
function describeIso(summary: RecipeSummary): string[] {
  const iso = summary.iso;
  if (!iso) return [];
  const boot = iso.boot.map((e) => (e.platform === 'bios' ? `BIOS ${e.path}` : `UEFI ${e.path ?? 'EFI partition (appended)'}`));
  return [
    `  ISO 9660 "${iso.volumeId}" (UUID ${iso.uuid}), level ${iso.level}, Rock Ridge and Joliet: ${summary.files} file${summary.files === 1 ? '' : 's'}, ${formatBytes(summary.fileBytes)}`,
    `  date: ${iso.date}${iso.dateFixed ? ' (from the recipe: the same recipe gives the same bytes)' : ' (now: set "date" in image.iso for the same bytes each time)'}`,
    `  boot: ${boot.length ? boot.join(', ') : 'none (not bootable)'}${iso.hybrid ? '; hybrid MBR (boots from a USB stick, qemu -hda)' : ''}`,
    ...(iso.renamed
      ? [`  ${iso.renamed} ISO 9660 or Joliet name${iso.renamed === 1 ? ' was' : 's were'} shortened (Rock Ridge keeps every real name)`]
      : []),
  ];
}

function describeVolumes(summary: RecipeSummary): string[] {
  if (summary.iso) return describeIso(summary);
  return summary.volumes.map(
    (v) =>
      `  ${v.partition === null ? 'whole disk' : `partition ${v.partition}`}: ${v.fs.toUpperCase()}${v.label ? ` "${v.label}"` : ''}, ${formatBytes(v.sizeBytes)}` +
      ` (${formatBytes(v.neededBytes)} of ${formatBytes(v.capacityBytes)} used by the build)`,
  );
}

function describeBuild(result: BuildResult): string {
  const lines = [
    `Built ${result.image} (${formatBytes(result.sizeBytes)}${result.iso ? ', ISO 9660' : result.floppy ? `, ${result.floppy} floppy` : result.table ? `, ${result.table.toUpperCase()}` : ''}) in ${result.totalMs} ms`,
  ];
  lines.push(...describeVolumes(result));
  if (result.bootloaderResult) {
    const b = result.bootloaderResult;
    lines.push(
      `  boot: ${b.loader}${b.device ? ` on ${b.device}` : ''}${b.core ? `, core.img ${b.core.bytes} bytes in ${b.core.area}` : ''}${b.blockList ? `, stage2 in ${b.blockList.length} piece${b.blockList.length === 1 ? '' : 's'}` : ''}`,
    );
    for (const warning of b.warnings) lines.push(`  warning: ${warning}`);
  }
  for (const step of result.steps) lines.push(`    ${String(step.ms).padStart(6)} ms  ${step.step}`);
  for (const entry of result.skipped ?? []) lines.push(`  skipped ${entry.path}: ${entry.reason}`);
  return `${lines.join('\n')}\n`;
}

export const build: Command = {
  name: 'build',
  summary: 'Build the image a recipe (JSON) describes: table, filesystems, files, boot loader — headless, without root',
  usage,
  options: {
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
    check: { type: 'boolean' },
    'print-commands': { type: 'boolean' },
    'allow-outside': { type: 'string', multiple: true },
    update: { type: 'boolean', short: 'u' },
    full: { type: 'boolean' },
  },
  async run(ctx) {
    const [recipe, ...extra] = ctx.positionals;
    if (!recipe || extra.length) throw new LoopbackError('INVALID_INPUT', `name one recipe file (usage: ${usage})`);
    if (ctx.values.check && ctx.values['print-commands'])
      throw new LoopbackError('INVALID_INPUT', '--check and --print-commands exclude each other');
    const allowed = (ctx.values['allow-outside'] as string[] | undefined) ?? [];
    const allowOutside = allowed.length ? { allowOutside: allowed } : {};
    if (ctx.values.full && !ctx.values.update) throw new LoopbackError('INVALID_INPUT', '--full goes with --update');
    if (ctx.values.update) {
      if (ctx.values.check || ctx.values['print-commands'])
        throw new LoopbackError('INVALID_INPUT', '--update builds: it does not go with --check or --print-commands');
      // Only the rebuild code: this is the Makefile's `mcopy` replacement, started once per change.
      const { updateImage } = await import('../../services/rebuild');
      const { lockImage } = await import('../../services/image-lock');
      const { defaultOutput } = await import('../../services/recipe-sources');
      const { resolve } = await import('node:path');
      const image = resolve((ctx.values.output as string | undefined) ?? defaultOutput(resolve(recipe)));
      const lock = await lockImage(image, `loopstudio build --update ${recipe}`);
      try {
        const result = await updateImage(recipe, {
          output: image,
          force: Boolean(ctx.values.force),
          full: Boolean(ctx.values.full),
          ...allowOutside,
        });
        output(
          ctx,
          result,
          () => `${result.kind === 'none' ? `${image} is ` : result.kind === 'full' ? `${image}: ` : ''}${result.summary}\n`,
        );
      } finally {
        await lock.release();
      }
      return 0;
    }
    const { buildRecipe, summarizePlan, validateRecipeFile } = await import('../../services/recipes');
    if (ctx.values.check || ctx.values['print-commands']) {
      // Both validate everything build would, and write nothing.
      const plan = await validateRecipeFile(recipe, allowOutside);
      if (ctx.values['print-commands']) {
        const { recipeScript } = await import('../../services/recipe-script');
        const script = recipeScript(plan, ...(ctx.values.output !== undefined ? [ctx.values.output as string] : []));
        output(ctx, { script, ...summarizePlan(plan) }, () => script);
      } else {
        const summary = summarizePlan(plan);
        output(
          ctx,
          summary,
          () =>
            `${summary.recipe} is valid: it builds a ${formatBytes(summary.sizeBytes)} ${summary.iso ? 'ISO ' : ''}image\n${describeVolumes(summary).join('\n')}\n`,
        );
      }
      return 0;
    }
    const progress = progressFor(ctx, 'build');
    try {
      const result = await buildRecipe(recipe, {
        ...(ctx.values.output !== undefined ? { output: ctx.values.output as string } : {}),
        force: Boolean(ctx.values.force),
        ...allowOutside,
        ...progress,
      });
      output(ctx, result, () => describeBuild(result));
    } finally {
      progress.done();
    }
    return 0;
  },
};
