/**
 * Our BlockDevice as a `file-disk` Disk, the I/O interface the `ext2fs` package mounts. Reads and
 * writes go straight through (file-disk records nothing: recordWrites and recordReads are off).
 */
import { Disk, type ReadResult, type WriteResult } from 'file-disk';
import type { BlockDevice } from '../../../shared/disk/block-device';

export class BlockDeviceDisk extends Disk {
  constructor(private readonly device: BlockDevice) {
    // readOnly, recordWrites, recordReads, discardIsZero
    super(false, false, false, true);
  }

  protected async _getCapacity(): Promise<number> {
    return this.device.sizeBytes;
  }

  protected async _read(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<ReadResult> {
    buffer.set(await this.device.read(fileOffset, length), bufferOffset);
    return { bytesRead: length, buffer };
  }

  protected async _write(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<WriteResult> {
    await this.device.write(fileOffset, buffer.subarray(bufferOffset, bufferOffset + length));
    return { bytesWritten: length, buffer };
  }

  protected async _flush(): Promise<void> {
    await this.device.flush();
  }
}
