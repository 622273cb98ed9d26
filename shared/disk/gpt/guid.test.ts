import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoopbackError } from '../../errors';
import { guidFromBytes, guidToBytes, isGuid, parseGuid, randomGuid, ZERO_GUID } from './guid';

// The EFI System partition type as it appears on disk (UEFI spec appendix A mixed-endian layout).
const EFI_SYSTEM = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const EFI_SYSTEM_ON_DISK = [0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b];

describe('GUID on-disk layout', () => {
  it('stores the first three fields little-endian and the last two as written', () => {
    expect([...guidToBytes(EFI_SYSTEM)]).toEqual(EFI_SYSTEM_ON_DISK);
  });

  it('reads the on-disk bytes back to the text form, at an offset', () => {
    const sector = new Uint8Array(64);
    sector.set(EFI_SYSTEM_ON_DISK, 40);
    expect(guidFromBytes(sector, 40)).toBe(EFI_SYSTEM);
  });

  it('round-trips any 16 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect([...guidToBytes(guidFromBytes(bytes))]).toEqual([...bytes]);
      }),
    );
  });

  it('refuses to read past the end of the buffer', () => {
    expect(() => guidFromBytes(new Uint8Array(20), 8)).toThrow(LoopbackError);
  });
});

describe('parseGuid', () => {
  it('accepts lower case and braces and answers in upper case', () => {
    expect(parseGuid('{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}')).toBe(EFI_SYSTEM);
    expect(isGuid(' c12a7328-f81f-11d2-ba4b-00a0c93ec93b ')).toBe(true);
  });

  it.each(['', 'C12A7328F81F11D2BA4B00A0C93EC93B', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93', 'G12A7328-F81F-11D2-BA4B-00A0C93EC93B'])(
    'refuses %j with INVALID_INPUT',
    (text) => {
      expect(isGuid(text)).toBe(false);
      expect(() => parseGuid(text)).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('is not a GUID') }),
      );
    },
  );
});

describe('randomGuid', () => {
  it('makes version 4, RFC variant GUIDs that do not repeat', () => {
    const guids = Array.from({ length: 1000 }, randomGuid);
    for (const guid of guids) {
      expect(guid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
      expect(guid).not.toBe(ZERO_GUID);
    }
    expect(new Set(guids).size).toBe(guids.length);
  });
});
