/**
 * Boot menus: grub.cfg checked by GRUB's own parser (grub-script-check), menu.lst line by line
 * against GRUB legacy's commands, and the refusals that name the field.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingTools, runTool, tempDir } from '../../tests/support/host';
import { checkMenu, grubCfg, menuLst, type BootMenu } from './menu';

const tmp = tempDir('menu-');
afterAll(() => tmp.cleanup());

const menu: BootMenu = {
  timeout: 3,
  default: 1,
  serial: true,
  entries: [
    {
      title: "Kernel's debug build",
      kernel: '/boot/kernel-debug.elf',
      type: 'multiboot',
      cmdline: 'debug=1 log=serial',
      modules: [{ path: '/boot/initrd.tar', cmdline: 'ramdisk' }, { path: '/boot/font.psf' }],
    },
    { title: 'My OS (multiboot2)', kernel: '/boot/kernel.elf', type: 'multiboot2' },
    {
      title: 'Linux',
      kernel: '/boot/vmlinuz',
      type: 'linux',
      cmdline: 'console=ttyS0 root=/dev/sda1',
      modules: [{ path: '/boot/initrd.img' }],
    },
  ],
};

describe('grub.cfg', () => {
  const cfg = grubCfg(menu, ['part_msdos', 'fat']);

  it('has the timeout, default, serial terminal, and per entry the insmods, the loader, its modules and boot', () => {
    expect(cfg).toContain(
      'set timeout=3\nset default=1\nserial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\n',
    );
    expect(cfg).toContain(
      "menuentry 'Kernel'\\''s debug build' {\n\tinsmod part_msdos\n\tinsmod fat\n\tinsmod multiboot\n\tmultiboot /boot/kernel-debug.elf debug=1 log=serial\n\tmodule /boot/initrd.tar ramdisk\n\tmodule /boot/font.psf\n\tboot\n}",
    );
    expect(cfg).toContain('\tinsmod multiboot2\n\tmultiboot2 /boot/kernel.elf\n\tboot\n');
    expect(cfg).toContain('\tinsmod linux\n\tlinux /boot/vmlinuz console=ttyS0 root=/dev/sda1\n\tinitrd /boot/initrd.img\n\tboot\n');
  });

  it.skipIf(missingTools('grub-script-check'))('parses with GRUB 2’s own grub-script-check', () => {
    const file = join(tmp.dir, 'grub.cfg');
    writeFileSync(file, cfg);
    const run = runTool('grub-script-check', [file]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // The checker does find errors: an unclosed menuentry fails.
    writeFileSync(file, cfg.replace(/}\n$/, '\n'));
    expect(runTool('grub-script-check', [file]).status).not.toBe(0);
  });

  it('without serial has no terminal lines', () => {
    expect(grubCfg({ ...menu, serial: false }, [])).not.toMatch(/^serial |^terminal_/m);
  });
});

describe('menu.lst', () => {
  it('is GRUB legacy’s: serial and terminal first, then timeout, default, and title/root/kernel/module per entry', () => {
    const legacy = { ...menu, default: 0, entries: [menu.entries[0]!, menu.entries[2]!] };
    expect(menuLst(legacy, '(hd0,0)').split('\n').slice(1)).toEqual([
      'serial --unit=0 --speed=9600',
      'terminal --timeout=0 serial console',
      'timeout 3',
      'default 0',
      '',
      "title Kernel's debug build",
      '\troot (hd0,0)',
      '\tkernel /boot/kernel-debug.elf debug=1 log=serial',
      '\tmodule /boot/initrd.tar ramdisk',
      '\tmodule /boot/font.psf',
      '',
      'title Linux',
      '\troot (hd0,0)',
      '\tkernel /boot/vmlinuz console=ttyS0 root=/dev/sda1',
      '\tinitrd /boot/initrd.img',
      '',
    ]);
  });
});

describe('refusals name the field', () => {
  it.each([
    [{ ...menu, default: 3 }, 'grub2', /^default: default is 3 but there are 3 entries/],
    [{ ...menu, entries: [] }, 'grub2', /^entries: /],
    [{ ...menu, default: 0, entries: [{ ...menu.entries[0]!, cmdline: 'a\nb' }] }, 'grub2', /^entries\[0\]\.cmdline: must be one line/],
    [
      { ...menu, default: 0, entries: [{ ...menu.entries[0]!, kernel: 'boot/k.elf' }] },
      'grub2',
      /^entries\[0\]\.kernel: "boot\/k.elf" must be an absolute path/,
    ],
    [
      { ...menu, default: 0, entries: [{ ...menu.entries[0]!, modules: [{ path: '/my file' }] }] },
      'grub2',
      /^entries\[0\]\.modules\[0\]\.path: .*cannot contain spaces/,
    ],
    [menu, 'grub-legacy', /^entries\[1\]\.type: GRUB legacy cannot boot multiboot2/],
  ] as const)('%#', (bad, loader, message) => {
    expect(() => checkMenu(bad as BootMenu, loader)).toThrow(message);
  });
});
