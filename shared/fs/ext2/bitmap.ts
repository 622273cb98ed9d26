/**
 * Block and inode bitmaps: one block each per group, bit i (LSB first within each byte) for the
 * group's i-th block or inode; 1 = in use. Bits past the group's last block or inode (the
 * "padding") must be 1 too, or e2fsck reports "Padding at end of … bitmap is not set".
 */

export function testBit(bitmap: Uint8Array, bit: number): boolean {
  return (bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

export function clearBit(bitmap: Uint8Array, bit: number): void {
  bitmap[bit >> 3]! &= ~(1 << (bit & 7));
}

/** Sets `count` bits starting at bit `first` (whole bytes at a time in the middle). */
export function setBits(bitmap: Uint8Array, first: number, count: number): void {
  let bit = first;
  const end = first + count;
  while (bit < end && bit & 7) bitmap[bit >> 3]! |= 1 << (bit++ & 7);
  if (end - bit >= 8) {
    bitmap.fill(0xff, bit >> 3, end >> 3);
    bit = end & ~7;
  }
  while (bit < end) bitmap[bit >> 3]! |= 1 << (bit++ & 7);
}

/** A bitmap block with bits [0, used) set, plus the padding from `valid` to the end of the block. */
export function makeBitmap(blockBytes: number, used: number, valid: number): Uint8Array {
  const bitmap = new Uint8Array(blockBytes);
  setBits(bitmap, 0, used);
  setBits(bitmap, valid, blockBytes * 8 - valid);
  return bitmap;
}
