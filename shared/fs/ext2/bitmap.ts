/**
 * Block and inode bitmaps: one block each per group, bit i (LSB first within each byte) for the
 * group's i-th block or inode; 1 = in use. Bits past the group's last block or inode (the
 * "padding") must be 1 too, or e2fsck reports "Padding at end of … bitmap is not set".
 */

/** Sets `count` bits starting at bit `first`. */
export function setBits(bitmap: Uint8Array, first: number, count: number): void {
  for (let bit = first; bit < first + count; bit++) {
    bitmap[bit >> 3]! |= 1 << (bit & 7);
  }
}

/** A bitmap block with bits [0, used) set, plus the padding from `valid` to the end of the block. */
export function makeBitmap(blockBytes: number, used: number, valid: number): Uint8Array {
  const bitmap = new Uint8Array(blockBytes);
  setBits(bitmap, 0, used);
  setBits(bitmap, valid, blockBytes * 8 - valid);
  return bitmap;
}
