/**
 * A window of bytes that on-disk structures are read from and written to: a whole image file,
 * or one partition of it ("this image, from byte offset X, for N bytes"). shared/ code only sees
 * this interface; electron/services provides the file-backed one, tests use MemoryBlockDevice.
 *
 * Offsets are relative to the window's start; an access outside [0, sizeBytes) is refused, so a
 * filesystem writer can never spill into the neighbouring partition.
 */
import { LoopbackError } from '../errors';

export interface BlockDevice {
  readonly sizeBytes: number;
  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array>;
  write(offsetBytes: number, data: Uint8Array): Promise<void>;
  /** Makes earlier writes durable (fsync for files); a no-op in memory. */
  flush(): Promise<void>;
}

export function checkRange(device: { sizeBytes: number }, offsetBytes: number, lengthBytes: number, what: string): void {
  if (
    !Number.isSafeInteger(offsetBytes) ||
    !Number.isSafeInteger(lengthBytes) ||
    offsetBytes < 0 ||
    lengthBytes < 0 ||
    offsetBytes + lengthBytes > device.sizeBytes
  ) {
    throw new LoopbackError(
      'IO',
      `${what} of ${lengthBytes} bytes at offset ${offsetBytes} is outside the device (size ${device.sizeBytes} bytes)`,
      { offsetBytes, lengthBytes, sizeBytes: device.sizeBytes },
    );
  }
}

/** A BlockDevice in memory, for tests and for building small structures before writing them. */
export class MemoryBlockDevice implements BlockDevice {
  readonly bytes: Uint8Array;
  constructor(sizeOrBytes: number | Uint8Array) {
    this.bytes = typeof sizeOrBytes === 'number' ? new Uint8Array(sizeOrBytes) : sizeOrBytes;
  }
  get sizeBytes(): number {
    return this.bytes.length;
  }
  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    checkRange(this, offsetBytes, lengthBytes, 'read');
    return this.bytes.slice(offsetBytes, offsetBytes + lengthBytes);
  }
  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkRange(this, offsetBytes, data.length, 'write');
    this.bytes.set(data, offsetBytes);
  }
  async flush(): Promise<void> {}
}

/** A window onto part of another device: a partition of an image. */
export class SubBlockDevice implements BlockDevice {
  constructor(
    private readonly parent: BlockDevice,
    readonly startBytes: number,
    readonly sizeBytes: number,
  ) {
    checkRange(parent, startBytes, sizeBytes, 'partition window');
  }
  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    checkRange(this, offsetBytes, lengthBytes, 'read');
    return this.parent.read(this.startBytes + offsetBytes, lengthBytes);
  }
  write(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkRange(this, offsetBytes, data.length, 'write');
    return this.parent.write(this.startBytes + offsetBytes, data);
  }
  flush(): Promise<void> {
    return this.parent.flush();
  }
}
