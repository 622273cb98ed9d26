import { output, table, type Command } from '../command';

export const doctor: Command = {
  name: 'doctor',
  summary: 'Report which host tools are installed, their versions, and how to install the missing ones',
  usage: 'loopstudio doctor [--all] [--json]',
  options: { all: { type: 'boolean' } },
  async run(ctx) {
    const report = await (await ctx.services()).handlers['host.tools']({ refresh: true });
    const shown = report.tools.filter((tool) => ctx.values.all || tool.applicable);
    output(ctx, report, () => {
      const rows = shown.map((tool) => [
        tool.name,
        tool.found ? 'found' : tool.applicable ? 'MISSING' : 'n/a here',
        tool.found ? (tool.version ?? '') : '',
        tool.found ? (tool.path ?? '') : `${tool.note ? `${tool.note}; ` : ''}install: ${tool.installHint}`,
      ]);
      const missing = shown.filter((tool) => tool.applicable && !tool.found).length;
      return (
        `Host: ${report.osName} (${report.os}, packages: ${report.family})\n\n` +
        `${table([['TOOL', 'STATUS', 'VERSION', 'PATH / HOW TO INSTALL'], ...rows], '  ')}\n\n` +
        (missing === 0
          ? 'Every host tool this system uses is installed.\n'
          : `${missing} tool(s) missing. The rootless engine (create, partition, format, files, boot) needs none of them; ` +
            'the loop engine, GRUB 2 and QEMU need theirs.\n') +
        (ctx.values.all ? '' : 'Tools of other systems are hidden; --all shows them.\n')
      );
    });
    return 0;
  },
};
