/** Every `loopstudio` command, in the order `--help` lists them. */
import type { Command } from '../command';
import { bootloader } from './bootloader';
import { build } from './build';
import { create } from './create';
import { doctor } from './doctor';
import { get, ls, mkdir, put, rm } from './files';
import { format } from './format';
import { geometry } from './geometry';
import { info } from './info';
import { attach, cleanup, detach, loops, mount, umount } from './loops';
import { partition } from './partition';
import { qemu } from './qemu';
import { run } from './run';

export const COMMANDS: readonly Command[] = [
  create,
  geometry,
  partition,
  format,
  info,
  ls,
  put,
  get,
  mkdir,
  rm,
  bootloader,
  build,
  attach,
  detach,
  mount,
  umount,
  loops,
  cleanup,
  qemu,
  run,
  doctor,
];
