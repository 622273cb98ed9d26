/**
 * The recorded forms of numbers and strings (ECMA-119 4th edition, section 7).
 *
 * - 7.2.1 / 7.3.1: little-endian ("7.2.1 16-bit LSB", "7.3.1 32-bit LSB");
 * - 7.2.2 / 7.3.2: big-endian ("MSB");
 * - 7.2.3 / 7.3.3: both-byte orders: the little-endian copy then the big-endian one (4 and 8
 *   bytes). Readers on either kind of machine take their own half; we read the little-endian half
 *   and can check that the halves agree.
 * - 7.4: a-characters and d-characters, padded with spaces (0x20) to the field's length.
 */
import { LoopbackError } from '../../errors';

export function putU16LE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
}

export function putU16BE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

export function putU32LE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

export function putU32BE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** 7.2.3: 4 bytes, LSB then MSB. */
export function putBothU16(bytes: Uint8Array, offset: number, value: number): void {
  checkUint(value, 16);
  putU16LE(bytes, offset, value);
  putU16BE(bytes, offset + 2, value);
}

/** 7.3.3: 8 bytes, LSB then MSB. */
export function putBothU32(bytes: Uint8Array, offset: number, value: number): void {
  checkUint(value, 32);
  putU32LE(bytes, offset, value);
  putU32BE(bytes, offset + 4, value);
}

export function getU16LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8);
}

export function getU16BE(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

export function getU32LE(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8) | ((bytes[offset + 2] ?? 0) << 16) | ((bytes[offset + 3] ?? 0) << 24)) >>> 0
  );
}

export function getU32BE(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0
  );
}

/** The little-endian half of a 7.2.3 field (some writers leave the other half zero; we do not mind). */
export function getBothU16(bytes: Uint8Array, offset: number): number {
  return getU16LE(bytes, offset);
}

/** The little-endian half of a 7.3.3 field. */
export function getBothU32(bytes: Uint8Array, offset: number): number {
  return getU32LE(bytes, offset);
}

/** True when both halves of a 7.3.3 field hold the same number. */
export function bothU32Agree(bytes: Uint8Array, offset: number): boolean {
  return getU32LE(bytes, offset) === getU32BE(bytes, offset + 4);
}

function checkUint(value: number, bits: 16 | 32): void {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** bits - 1) {
    throw new LoopbackError('INTERNAL', `${value} does not fit a ${bits}-bit ISO 9660 field`, { value, bits });
  }
}

/** 7.4: `text` in a field of `length` bytes, padded with spaces. The caller has checked the characters. */
export function putPaddedAscii(bytes: Uint8Array, offset: number, length: number, text: string): void {
  for (let i = 0; i < length; i++) bytes[offset + i] = i < text.length ? text.charCodeAt(i) & 0xff : 0x20;
}

/** A space-padded field as text, trailing spaces (and NULs some writers use) removed. */
export function getPaddedAscii(bytes: Uint8Array, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(bytes[offset + i] ?? 0);
  return text.replace(/[ \0]+$/, '');
}

/** Joliet text fields: UCS-2 big-endian, padded with UCS-2 spaces (00 20). */
export function putPaddedUcs2(bytes: Uint8Array, offset: number, length: number, text: string): void {
  for (let i = 0; i + 1 < length; i += 2) putU16BE(bytes, offset + i, i / 2 < text.length ? text.charCodeAt(i / 2) : 0x20);
  if (length % 2 === 1) bytes[offset + length - 1] = 0;
}

export function getPaddedUcs2(bytes: Uint8Array, offset: number, length: number): string {
  return decodeUcs2(bytes.subarray(offset, offset + length)).replace(/[ \0]+$/, '');
}

/** UTF-16 big-endian bytes (Joliet identifiers). Surrogate pairs pass through as two code units. */
export function encodeUcs2(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) putU16BE(bytes, i * 2, text.charCodeAt(i));
  return bytes;
}

export function decodeUcs2(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) text += String.fromCharCode(getU16BE(bytes, i));
  return text;
}

/** UTF-8 without TextEncoder's allocation per call mattering: names are short. */
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

export function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

export function asciiText(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}
