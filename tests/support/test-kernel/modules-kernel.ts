/**
 * The modules test kernel (modules.asm): a multiboot v1 kernel that prints, on COM1, how many
 * modules the boot loader gave it and, for each, its command line and first bytes — proof that
 * `loopstudio qemu --kernel K --module "FILE ARGS"` hands QEMU the modules as a boot loader would.
 */
import { join } from 'node:path';
import { runToolOk } from '../host';
import { testProgramsMissing } from './index';

/** What modules.asm prints last. */
export const MODULES_DONE_LINE = 'modules done';

/** Assembles and links modules.asm into DIR/modules.elf (multiboot v1, loaded at 1 MiB). */
export function buildModulesKernel(dir: string): string {
  const missing = testProgramsMissing();
  if (missing) throw new Error(`cannot build the test programs: ${missing}`);
  const object = join(dir, 'modules.o');
  const elf = join(dir, 'modules.elf');
  runToolOk('nasm', ['-f', 'elf32', join(__dirname, 'modules.asm'), '-o', object]);
  runToolOk('ld', ['-m', 'elf_i386', '-n', '-Ttext', '0x100000', '-o', elf, object]);
  return elf;
}
