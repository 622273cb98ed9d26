/**
 * The 64-bit Attributes field of a GPT partition entry (UEFI spec 2.10, section 5.3.3, table "Defined GPT Partition Entry - Attributes").
 *
 * Kept as two unsigned 32-bit halves rather than a bigint so a table survives JSON (the CLI's
 * --json output, the harness WebSocket) unchanged: bit n of the field is bit n of `low32` for
 * n < 32 and bit n − 32 of `high32` otherwise. Bits 0–2 are defined by UEFI, 3–47 are reserved,
 * 48–63 belong to the partition type (e.g. Microsoft basic data: 60 read-only, 62 hidden).
 */
import { LoopbackError } from '../../errors';

export interface GptAttributes {
  /** Bits 0–31 of the attribute field, as an unsigned 32-bit integer. */
  low32: number;
  /** Bits 32–63, as an unsigned 32-bit integer. */
  high32: number;
}

export const NO_ATTRIBUTES: GptAttributes = Object.freeze({ low32: 0, high32: 0 });

/** Bit numbers of the UEFI-defined attributes (UEFI 5.3.3). */
export const GPT_ATTRIBUTE_BITS = {
  /** Bit 0: the platform needs this partition to function; tools must not delete or move it. */
  requiredPartition: 0,
  /** Bit 1: firmware must not produce an EFI_BLOCK_IO_PROTOCOL for it. */
  noBlockIoProtocol: 1,
  /** Bit 2: legacy BIOS bootable, the GPT counterpart of MBR's active flag (used by gptmbr.bin, syslinux). */
  legacyBiosBootable: 2,
} as const;

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

export function isValidAttributes(attributes: GptAttributes): boolean {
  return isUint32(attributes?.low32) && isUint32(attributes?.high32);
}

function checkBit(bit: number): void {
  if (!Number.isInteger(bit) || bit < 0 || bit > 63) {
    throw new LoopbackError('INVALID_INPUT', `GPT attribute bit ${bit} does not exist: bits are numbered 0 to 63`, { bit });
  }
}

export function hasAttribute(attributes: GptAttributes, bit: number): boolean {
  checkBit(bit);
  const half = bit < 32 ? attributes.low32 : attributes.high32;
  return ((half >>> (bit % 32)) & 1) === 1;
}

/** A copy of `attributes` with `bit` set (on) or cleared. */
export function withAttribute(attributes: GptAttributes, bit: number, on: boolean): GptAttributes {
  checkBit(bit);
  const mask = (1 << (bit % 32)) >>> 0;
  const change = (half: number): number => (on ? (half | mask) >>> 0 : (half & ~mask) >>> 0);
  return bit < 32
    ? { low32: change(attributes.low32), high32: attributes.high32 }
    : { low32: attributes.low32, high32: change(attributes.high32) };
}

export function attributesToBigInt(attributes: GptAttributes): bigint {
  return (BigInt(attributes.high32) << 32n) | BigInt(attributes.low32);
}

export function attributesFromBigInt(value: bigint): GptAttributes {
  if (value < 0n || value > 0xffffffffffffffffn) {
    throw new LoopbackError('INVALID_INPUT', `GPT attributes must fit in 64 bits, got ${value}`, { value: value.toString() });
  }
  return { low32: Number(value & 0xffffffffn), high32: Number(value >> 32n) };
}

/** 16 hex digits, as `sgdisk -i` prints "Attribute flags". */
export function formatAttributes(attributes: GptAttributes): string {
  return attributes.high32.toString(16).padStart(8, '0') + attributes.low32.toString(16).padStart(8, '0');
}
