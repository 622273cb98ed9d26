/**
 * A regular file's data on an open volume (libext2fs fileio.c). Read through the block map,
 * one device read per run of adjacent blocks. Written whole, fast: the data and its indirect
 * blocks are allocated as one run where there is one — data first, the indirect blocks right
 * after it, so the data is one extent — and go straight to the device, not through the
 * metadata cache: the whole blocks in one write from the caller's buffer, the partial last
 * block together with the indirect blocks in a second one.
 */
import type { BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import { READ_CHUNK_BYTES, type FileChunk } from '../types';
import { splitRuns, type Allocator, type Run } from './alloc';
import { maxMappedBlocks, type BlockMap } from './bmap';
import { blocksWithIndirect, EXT2_NDIR_BLOCKS } from './inode';
import type { InodeRef } from './inode-table';
import type { Geometry } from './openfs';

/** A last run (with its partial block and indirect blocks) up to this size goes out as one padded write. */
const PAD_COPY_MAX_BYTES = 16 * 1024;
/** readFile holds a file in memory: larger ones are read piece by piece (readChunks). */
export const READ_WHOLE_MAX_BYTES = 2 ** 31 - 1;

/** Adjacent blocks of a file: logical block `logical` and `count` after it lie at `block` on. */
interface DataRun {
  logical: number;
  block: number;
  count: number;
}

export class FileData {
  constructor(
    private readonly device: BlockDevice,
    private readonly g: Geometry,
    private readonly alloc: Allocator,
    private readonly bmap: BlockMap,
  ) {}

  /** Throws unless a file of `bytes` (`dataBlocks` blocks) fits the block map, i_blocks and, in revision 0, i_size. */
  checkSize(path: string, bytes: number, dataBlocks: number): void {
    const P = this.g.perBlock;
    const maxBlocks = EXT2_NDIR_BLOCKS + P + P * P + P * P * P;
    const rev0 = this.g.rev0;
    const tooLarge =
      dataBlocks > maxBlocks ||
      (blocksWithIndirect(dataBlocks, this.g.blockBytes) * this.g.blockBytes) / 512 >= 2 ** 32 ||
      (rev0 && bytes >= 2 ** 31);
    if (tooLarge) {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${path}: a file of ${bytes} bytes is larger than this ext2 (${this.g.blockBytes}-byte blocks${rev0 ? ', revision 0' : ''}) can hold`,
        { path, sizeBytes: bytes },
      );
    }
  }

  /**
   * The file's size, refused (CORRUPT) when it is more than the block map can address — an
   * i_size_high claiming exabytes, say (e2fsck: "i_size is …, should be …").
   */
  sizeOf(inode: InodeRef, what: string): number {
    const size = inode.size;
    const max = maxMappedBlocks(this.g.perBlock) * this.g.blockBytes;
    if (size > max) {
      throw new LoopbackError(
        'CORRUPT',
        `${what} claims ${size} bytes, more than a file of this ext2 (${this.g.blockBytes}-byte blocks) can hold (${max}): run e2fsck on the image`,
        {
          path: what,
          sizeBytes: size,
        },
      );
    }
    return size;
  }

  /** The file's mapped blocks, as runs of adjacent ones in logical order (holes left out). */
  private async runsOf(inode: InodeRef, size: number, what: string): Promise<DataRun[]> {
    const B = this.g.blockBytes;
    const runs: DataRun[] = [];
    await this.bmap.walk(inode, Math.ceil(size / B), what, (logical, block) => {
      const last = runs[runs.length - 1];
      if (last && last.logical + last.count === logical && last.block + last.count === block) last.count++;
      else runs.push({ logical, block, count: 1 });
    });
    return runs;
  }

  /** The file's bytes (holes read as zeros), for files up to READ_WHOLE_MAX_BYTES. */
  async read(inode: InodeRef, what: string): Promise<Uint8Array> {
    const B = this.g.blockBytes;
    const size = this.sizeOf(inode, what);
    if (size > READ_WHOLE_MAX_BYTES) {
      throw new LoopbackError(
        'VALIDATION',
        `${what} is ${size} bytes, too large to read into memory at once: copy it out (loopstudio get) instead`,
        { path: what, sizeBytes: size },
      );
    }
    const runs = await this.runsOf(inode, size, what);
    const first = runs[0];
    if (runs.length === 1 && first && first.logical === 0 && first.count * B >= size) return this.device.read(first.block * B, size);
    const data = new Uint8Array(size); // holes read as zeros
    for (const run of runs) {
      const offset = run.logical * B;
      data.set(await this.device.read(run.block * B, Math.min(run.count * B, size - offset)), offset);
    }
    return data;
  }

  /** See FileSystem.readChunks: data in pieces of at most READ_CHUNK_BYTES, each hole as one piece. */
  async readChunks(inode: InodeRef, what: string, onChunk: (chunk: FileChunk) => Promise<void>): Promise<number> {
    const B = this.g.blockBytes;
    const size = this.sizeOf(inode, what);
    let at = 0;
    for (const run of await this.runsOf(inode, size, what)) {
      const start = run.logical * B;
      if (start > at) await onChunk({ offsetBytes: at, lengthBytes: start - at, data: null });
      const end = Math.min(start + run.count * B, size);
      for (let offset = start; offset < end;) {
        const length = Math.min(READ_CHUNK_BYTES, end - offset);
        await onChunk({ offsetBytes: offset, lengthBytes: length, data: await this.device.read(run.block * B + (offset - start), length) });
        offset += length;
      }
      at = end;
    }
    if (at < size) await onChunk({ offsetBytes: at, lengthBytes: size - at, data: null });
    return size;
  }

  /**
   * Gives `inode` (whose blocks are free: new, or emptied by BlockMap.freeData) `data`: blocks
   * allocated near the inode, the block map built, everything written to the device; i_size
   * and i_blocks set. The caller has checked the size (checkSize) and the space. Returns
   * whether anything went to the device (not for an empty file): it needs a flush then.
   */
  async write(inode: InodeRef, data: Uint8Array): Promise<boolean> {
    const B = this.g.blockBytes;
    const dataBlocks = Math.ceil(data.length / B);
    // Data and indirect blocks in one allocation: the indirect blocks right after the data,
    // so the data stays one extent.
    const metaCount = blocksWithIndirect(dataBlocks, B) - dataBlocks;
    const [dataRuns, metaRuns] = splitRuns(await this.alloc.allocBlocks(dataBlocks + metaCount, this.alloc.goalFor(inode.ino)), dataBlocks);
    await this.writeRuns(dataRuns, data, metaRuns, this.bmap.build(inode, dataRuns, metaRuns, dataBlocks));
    inode.size = data.length;
    inode.blocks512 = ((dataBlocks + metaCount) * B) / 512 + inode.xattrBlocks512;
    return dataRuns.length > 0;
  }

  /**
   * Writes a file's data into its runs and its indirect blocks (`metaBytes`, in `metaRuns`),
   * the last block's tail zeroed, in as few device writes as possible: the whole blocks of each
   * run straight from `data`, then the partial last block together with the indirect blocks
   * that follow it (one write; small files go out as one padded write).
   */
  private async writeRuns(dataRuns: Run[], data: Uint8Array, metaRuns: Run[], metaBytes: Uint8Array): Promise<void> {
    const B = this.g.blockBytes;
    const last = dataRuns[dataRuns.length - 1];
    const firstMeta = metaRuns[0];
    const appended =
      last !== undefined && firstMeta !== undefined && firstMeta.start === last.start + last.length ? firstMeta.length * B : 0;
    let offset = 0;
    for (let r = 0; r < dataRuns.length; r++) {
      const run = dataRuns[r]!;
      const at = run.start * B;
      const bytes = Math.min(run.length * B, data.length - offset);
      const whole = Math.floor(bytes / B) * B;
      const tail = bytes - whole;
      const trailing = r === dataRuns.length - 1 ? appended : 0;
      const restBytes = (tail > 0 ? B : 0) + trailing;
      if (restBytes === 0) {
        await this.device.write(at, data.subarray(offset, offset + bytes));
      } else if (whole + restBytes <= PAD_COPY_MAX_BYTES) {
        const buffer = new Uint8Array(whole + restBytes);
        buffer.set(data.subarray(offset, offset + bytes));
        if (trailing > 0) buffer.set(metaBytes.subarray(0, trailing), whole + (tail > 0 ? B : 0));
        await this.device.write(at, buffer);
      } else {
        if (whole > 0) await this.device.write(at, data.subarray(offset, offset + whole));
        const rest = new Uint8Array(restBytes);
        rest.set(data.subarray(offset + whole, offset + bytes));
        if (trailing > 0) rest.set(metaBytes.subarray(0, trailing), tail > 0 ? B : 0);
        await this.device.write(at + whole, rest);
      }
      offset += bytes;
    }
    let metaOffset = appended;
    for (const run of appended > 0 ? metaRuns.slice(1) : metaRuns) {
      await this.device.write(run.start * B, metaBytes.subarray(metaOffset, metaOffset + run.length * B));
      metaOffset += run.length * B;
    }
  }
}
