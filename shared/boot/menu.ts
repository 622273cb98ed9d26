/**
 * Boot menus from one description: GRUB 2's grub.cfg and GRUB legacy's menu.lst. A menu entry is
 * a kernel (a path inside the filesystem GRUB boots from), its type, its command line and its
 * modules (multiboot modules, or a Linux kernel's initrd images).
 *
 * The serial option sends GRUB's menu to COM1 as well as the screen, so a boot can be watched in
 * a terminal or checked by a test: GRUB 2 at 115200 baud (`serial --unit=0 --speed=115200`,
 * `terminal_input/terminal_output serial console`), GRUB legacy at 9600 (`serial --unit=0
 * --speed=9600`, `terminal --timeout=0 serial console` — the timeout makes it use both terminals
 * at once instead of waiting for a key press on one of them).
 */
import { LoopbackError } from '../errors';

export const KERNEL_TYPES = ['multiboot', 'multiboot2', 'linux'] as const;
export type KernelType = (typeof KERNEL_TYPES)[number];

export interface MenuModule {
  path: string;
  /** The module's own command line (multiboot); ignored for Linux initrd images. */
  cmdline?: string;
}

export interface MenuEntry {
  title: string;
  /** Absolute path inside the boot filesystem: /boot/kernel.elf. */
  kernel: string;
  type: KernelType;
  cmdline?: string;
  modules?: readonly MenuModule[];
}

export interface BootMenu {
  /** Seconds before the default entry boots; 0 boots at once. */
  timeout: number;
  /** Index of the entry booted by default. */
  default: number;
  /** Menu and messages on COM1 too. */
  serial: boolean;
  entries: readonly MenuEntry[];
}

export const GRUB2_SERIAL_SPEED = 115200;
export const GRUB_LEGACY_SERIAL_SPEED = 9600;

function invalid(message: string, field: string): LoopbackError {
  return new LoopbackError('INVALID_INPUT', `${field}: ${message}`, { field });
}

/** Throws INVALID_INPUT naming the field (`entries[1].kernel`) when the menu cannot be written. */
export function checkMenu(menu: BootMenu, loader: 'grub2' | 'grub-legacy'): void {
  if (menu.entries.length === 0) throw invalid('a menu needs at least one entry', 'entries');
  if (!Number.isInteger(menu.default) || menu.default < 0 || menu.default >= menu.entries.length) {
    throw invalid(`default is ${menu.default} but there are ${menu.entries.length} entries (0–${menu.entries.length - 1})`, 'default');
  }
  if (!Number.isInteger(menu.timeout) || menu.timeout < 0)
    throw invalid(`timeout must be a whole number of seconds, not ${menu.timeout}`, 'timeout');
  menu.entries.forEach((entry, i) => {
    const at = `entries[${i}]`;
    const lineFields: Array<[string, string | undefined]> = [
      [`${at}.title`, entry.title],
      [`${at}.cmdline`, entry.cmdline],
      ...(entry.modules ?? []).map((m, j): [string, string | undefined] => [`${at}.modules[${j}].cmdline`, m.cmdline]),
    ];
    for (const [field, text] of lineFields) {
      if (text !== undefined && /[\n\r\0]/.test(text)) throw invalid('must be one line (no newline or NUL)', field);
    }
    for (const [field, path] of [
      [`${at}.kernel`, entry.kernel],
      ...(entry.modules ?? []).map((m, j) => [`${at}.modules[${j}].path`, m.path]),
    ] as const) {
      if (!path.startsWith('/')) throw invalid(`"${path}" must be an absolute path inside the image (/boot/kernel.elf)`, field);
      if (/[\s\n\0]/.test(path)) throw invalid(`"${path}": GRUB menu paths cannot contain spaces`, field);
    }
    if (loader === 'grub-legacy' && entry.type === 'multiboot2') {
      throw invalid('GRUB legacy cannot boot multiboot2 kernels: use GRUB 2, or a multiboot (v1) kernel', `${at}.type`);
    }
    if (loader === 'grub-legacy' && entry.type === 'linux' && (entry.modules?.length ?? 0) > 1) {
      throw invalid('GRUB legacy loads one initrd per Linux kernel', `${at}.modules`);
    }
    if (entry.type === 'linux' && (entry.modules?.length ?? 0) > 0 && entry.modules!.some((m) => m.cmdline)) {
      throw invalid("a Linux kernel's modules are initrd images: they take no command line", `${at}.modules`);
    }
  });
}

/** A word for grub.cfg: as is when plain, else single-quoted (GRUB 2's script quoting is POSIX-like). */
function grubWord(word: string): string {
  return /^[A-Za-z0-9_./,:+=@%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function withArgs(command: string, path: string, cmdline: string | undefined): string {
  return cmdline?.trim() ? `${command} ${path} ${cmdline.trim()}` : `${command} ${path}`;
}

const HEADER = '# Written by Loopback Studio. Edit freely: only installing the boot loader again with a menu replaces it.';

/**
 * grub.cfg for GRUB 2. `modules` are the insmods every entry needs before its kernel loads: the
 * partition table and filesystem of the boot partition (core.img has them already; listing them
 * keeps the file correct if core.img changes).
 */
export function grubCfg(menu: BootMenu, modules: readonly string[]): string {
  checkMenu(menu, 'grub2');
  const lines = [HEADER, `set timeout=${menu.timeout}`, `set default=${menu.default}`];
  if (menu.serial) {
    lines.push(`serial --unit=0 --speed=${GRUB2_SERIAL_SPEED}`, 'terminal_input serial console', 'terminal_output serial console');
  }
  for (const entry of menu.entries) {
    const loader = entry.type === 'multiboot2' ? 'multiboot2' : entry.type === 'multiboot' ? 'multiboot' : 'linux';
    const body = [...modules.map((m) => `insmod ${m}`), `insmod ${loader}`, withArgs(loader, entry.kernel, entry.cmdline)];
    const mods = entry.modules ?? [];
    if (entry.type === 'linux') {
      if (mods.length) body.push(`initrd ${mods.map((m) => m.path).join(' ')}`);
    } else {
      for (const m of mods) body.push(withArgs(entry.type === 'multiboot2' ? 'module2' : 'module', m.path, m.cmdline));
    }
    body.push('boot');
    lines.push('', `menuentry ${grubWord(entry.title)} {`, ...body.map((line) => `\t${line}`), '}');
  }
  return `${lines.join('\n')}\n`;
}

/** menu.lst for GRUB legacy; `root` is the device the files are on: `(fd0)`, `(hd0,0)`. */
export function menuLst(menu: BootMenu, root: string): string {
  checkMenu(menu, 'grub-legacy');
  const lines = [HEADER];
  if (menu.serial) lines.push(`serial --unit=0 --speed=${GRUB_LEGACY_SERIAL_SPEED}`, 'terminal --timeout=0 serial console');
  lines.push(`timeout ${menu.timeout}`, `default ${menu.default}`);
  for (const entry of menu.entries) {
    lines.push('', `title ${entry.title}`, `\troot ${root}`, `\t${withArgs('kernel', entry.kernel, entry.cmdline)}`);
    for (const m of entry.modules ?? []) {
      lines.push(`\t${entry.type === 'linux' ? `initrd ${m.path}` : withArgs('module', m.path, m.cmdline)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
