/**
 * The helper's request: only the allowlisted operations, only absolute paths, references only to
 * earlier attach steps, and an encoding no shell can expand.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, requestSchema, type HelperRequest } from './request';

const owner = { uid: 1000, gid: 1000 };
const valid: HelperRequest = {
  version: 1,
  owner,
  steps: [
    { op: 'attach', image: '/home/me/c.img', offsetBytes: 32256, sizeBytes: 516063744 },
    {
      op: 'mkfs',
      device: { step: 0 },
      image: '/home/me/c.img',
      fs: 'ext2',
      blocks1KiB: 503968,
      expect: { offsetBytes: 32256, sizeBytes: 516063744 },
    },
    { op: 'mount', device: { step: 0 }, image: '/home/me/c.img', dir: '/run/user/1000/loopback-studio/mnt/c-p1', family: 'ext2' },
    { op: 'sync' },
    { op: 'unmount', dir: '/run/user/1000/loopback-studio/mnt/c-p1', image: '/home/me/c.img' },
    { op: 'detach', device: { step: 0 }, image: '/home/me/c.img' },
  ],
};

const refused = (request: unknown) => expect(requestSchema.safeParse(request).success).toBe(false);

describe('the helper request', () => {
  it('accepts the allowlisted steps and round-trips through its encoding', () => {
    expect(decodeRequest(encodeRequest(valid))).toEqual(valid);
  });

  it('refuses operations outside the allowlist and unknown fields', () => {
    refused({ ...valid, steps: [{ op: 'exec', argv: ['/bin/sh'] }] });
    refused({ ...valid, steps: [{ op: 'dd', device: '/dev/loop0', image: '/a' }] });
    refused({ ...valid, steps: [{ op: 'sync', shell: true }] });
    refused({ ...valid, extra: 1 });
    refused({ ...valid, version: 2 });
    refused({ ...valid, steps: [] });
  });

  it('refuses relative paths and NUL bytes (root must never resolve a path against its own folder)', () => {
    refused({ ...valid, steps: [{ op: 'attach', image: 'c.img' }] });
    refused({ ...valid, steps: [{ op: 'attach', image: '/c\0.img' }] });
    refused({ ...valid, steps: [{ op: 'detach', device: 'loop0', image: '/c.img' }] });
  });

  it('lets a step use only the device of an earlier attach step', () => {
    refused({ ...valid, steps: [{ op: 'detach', device: { step: 0 }, image: '/c.img' }] });
    refused({ ...valid, steps: [{ op: 'sync' }, { op: 'detach', device: { step: 0 }, image: '/c.img' }] });
    refused({
      ...valid,
      steps: [
        { op: 'attach', image: '/c.img' },
        { op: 'detach', device: { step: 5 }, image: '/c.img' },
      ],
    });
  });

  it('keeps labels and targets to their few values', () => {
    const mkfs = (label: string) => ({
      ...valid,
      steps: [
        { op: 'attach', image: '/c.img' },
        { op: 'mkfs', device: { step: 0 }, image: '/c.img', fs: 'fat12', label },
      ],
    });
    expect(requestSchema.safeParse(mkfs('BOOT DISK')).success).toBe(true);
    refused(mkfs('$(reboot)'));
    refused(mkfs('-rf'));
    refused(mkfs('twelve chars and more'));
    refused({
      ...valid,
      steps: [
        { op: 'attach', image: '/c.img' },
        { op: 'mkfs', device: { step: 0 }, image: '/c.img', fs: 'ntfs' },
      ],
    });
    refused({
      ...valid,
      steps: [
        { op: 'attach', image: '/c.img' },
        { op: 'grub-install', device: { step: 0 }, image: '/c.img', mountDir: '/m', target: 'x86_64-efi' },
      ],
    });
  });

  it('takes an ext2 block size and a FAT cluster size from their few values, each for its own filesystem', () => {
    const mkfs = (fs: string, extra: Record<string, unknown>) => ({
      ...valid,
      steps: [
        { op: 'attach', image: '/c.img' },
        { op: 'mkfs', device: { step: 0 }, image: '/c.img', fs, ...extra },
      ],
    });
    expect(requestSchema.safeParse(mkfs('ext2', { blockBytes: 4096 })).success).toBe(true);
    expect(requestSchema.safeParse(mkfs('fat32', { clusterBytes: 4096 })).success).toBe(true);
    refused(mkfs('ext2', { blockBytes: 8192 }));
    refused(mkfs('ext2', { blockBytes: '4096 -O ^has_journal' }));
    refused(mkfs('fat32', { clusterBytes: 3000 }));
    refused(mkfs('fat32', { clusterBytes: 128 * 1024 }));
    refused(mkfs('fat32', { blockBytes: 4096 }));
    refused(mkfs('ext2', { clusterBytes: 4096 }));
  });

  it('encodes into letters, digits, - and _ only, whatever the names hold (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), (name) => {
        const encoded = encodeRequest({ version: 1, owner, steps: [{ op: 'attach', image: `/tmp/${name.replace(/\0/g, '')}` }] });
        expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
      }),
    );
    expect(() => decodeRequest('e30=')).toThrow(/base64url/);
    expect(() => decodeRequest('$(reboot)')).toThrow(/base64url/);
  });
});
