/**
 * Our reader on images other programs wrote: xorriso (Rock Ridge 1.12 PX, Joliet), genisoimage
 * (Rock Ridge with mkisofs's RR_MOVED relocation of trees deeper than 8 levels; Joliet only;
 * plain ISO 9660), grub-mkrescue (a real GRUB rescue image with its El Torito entries), and a
 * multi-extent file put together from our own record encoder. The expected tree is the folder
 * the image was made from.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { MemoryBlockDevice } from '../../disk/block-device';
import { decodeDirectoryExtent, encodeDirectoryRecord, FILE_FLAGS } from './directory-record';
import { detectIso9660, ISO9660_DETECT_OFFSET_BYTES, openIso9660, planIso, writeIso, type Iso9660Volume } from './index';
import { diffModels, modelOfFolder, patternBytes, sha256, type TreeModel } from './test-support';

const skip = missingTools('xorriso', 'genisoimage');
const tmp = tempDir('iso-read-');
afterAll(() => {
  runTool('chmod', ['-R', 'u+rwx', tmp.dir]);
  tmp.cleanup();
});
let counter = 0;
const UTF8 = { LC_ALL: 'C.UTF-8' };

/** A folder with the cases worth reading: Unicode, mixed case, long names, links, modes, a deep tree, an empty file. */
function sourceFolder(): string {
  const root = join(tmp.dir, `src-${++counter}`);
  const deep = join(root, 'a/b/c/d/e/f/g/h/i/j');
  fs.mkdirSync(deep, { recursive: true });
  fs.writeFileSync(join(deep, 'deep.txt'), 'ten levels down\n');
  fs.writeFileSync(join(root, 'Mixed Case.TXT'), 'hello\n');
  fs.writeFileSync(join(root, 'Grüße.md'), 'ü\n');
  fs.writeFileSync(join(root, `${'long name '.repeat(10)}.bin`), patternBytes(70_000, 5));
  fs.writeFileSync(join(root, 'empty'), '');
  fs.mkdirSync(join(root, 'boot/grub'), { recursive: true });
  fs.writeFileSync(join(root, 'boot/grub/grub.cfg'), 'set timeout=0\n');
  fs.symlinkSync('boot/grub/grub.cfg', join(root, 'cfg-link'));
  fs.symlinkSync('../..', join(root, 'boot/grub/up'));
  fs.chmodSync(join(root, 'Mixed Case.TXT'), 0o600);
  return root;
}

async function withImage<T>(image: string, work: (device: FileBlockDevice) => Promise<T>): Promise<T> {
  const device = await FileBlockDevice.open(image, { writable: false });
  try {
    return await work(device);
  } finally {
    await device.close();
  }
}

/** What our reader sees, in the shape of test-support's models. */
async function modelOfIso(iso: Iso9660Volume, withModes = false): Promise<TreeModel> {
  const model: TreeModel = new Map();
  for (const { path, entry } of await iso.walk()) {
    if (entry.type === 'symlink') model.set(path, { type: 'symlink', target: entry.target! });
    else if (entry.type === 'directory') model.set(path, withModes ? { type: 'directory', mode: entry.mode! } : { type: 'directory' });
    else {
      const bytes = await iso.readFile(path);
      expect(bytes.length).toBe(entry.sizeBytes);
      model.set(
        path,
        withModes
          ? { type: 'file', sha256: await sha256(bytes), sizeBytes: bytes.length, mode: entry.mode! }
          : { type: 'file', sha256: await sha256(bytes), sizeBytes: bytes.length },
      );
    }
  }
  return model;
}

describe.skipIf(skip)('reading images other programs made', () => {
  it('xorriso -R -J: Rock Ridge names, modes, links and bytes; Joliet when asked', async () => {
    const src = sourceFolder();
    const image = join(tmp.dir, `xorriso-${++counter}.iso`);
    runToolOk('xorriso', ['-as', 'mkisofs', '-o', image, '-R', '-J', '-V', 'XO_VOL', src], { env: UTF8 });
    await withImage(image, async (device) => {
      const iso = await openIso9660(device);
      expect(diffModels(await modelOfFolder(fs, src, true), await modelOfIso(iso, true))).toEqual([]);
      const info = await iso.info();
      expect(info).toMatchObject({
        volumeIdentifier: 'XO_VOL',
        rockRidge: true,
        jolietLevel: 3,
        names: 'rock-ridge',
        logicalBlockSize: 2048,
      });
      expect(info.sizeBytes).toBe(fs.statSync(image).size);
      const joliet = await openIso9660(device, { names: 'joliet' });
      expect((await joliet.list('/')).map((e) => e.name)).toEqual(expect.arrayContaining(['Grüße.md', 'Mixed Case.TXT', 'boot']));
      expect(new TextDecoder().decode(await joliet.readFile('/boot/grub/grub.cfg'))).toBe('set timeout=0\n');
      expect(detectIso9660(await device.read(ISO9660_DETECT_OFFSET_BYTES, 2048))).toBe(true);
    });
  });

  it("genisoimage -R: follows mkisofs's RR_MOVED relocation of folders deeper than 8 levels", async () => {
    const src = sourceFolder();
    const image = join(tmp.dir, `genisoimage-${++counter}.iso`);
    runToolOk('genisoimage', ['-quiet', '-input-charset', 'utf-8', '-R', '-o', image, src], { env: UTF8 });
    // genisoimage did relocate: the plain tree has RR_MOVED.
    expect(runToolOk('isoinfo', ['-l', '-i', image]).stdout).toContain('RR_MOVED');
    await withImage(image, async (device) => {
      const iso = await openIso9660(device);
      // As Linux shows it: the relocated folders where they belong (CL), none of them in
      // rr_moved (RE), which itself stays as an empty folder.
      const model = await modelOfIso(iso);
      expect(model.get('/rr_moved')).toEqual({ type: 'directory' });
      expect(await iso.list('/rr_moved')).toEqual([]);
      model.delete('/rr_moved');
      expect(diffModels(await modelOfFolder(fs, src), model)).toEqual([]);
    });
  });

  it('genisoimage -J without Rock Ridge: the names come from Joliet', async () => {
    const src = sourceFolder();
    const image = join(tmp.dir, `joliet-${++counter}.iso`);
    runToolOk('genisoimage', ['-quiet', '-input-charset', 'utf-8', '-J', '-o', image, src], { env: UTF8 });
    await withImage(image, async (device) => {
      const iso = await openIso9660(device);
      expect((await iso.info()).names).toBe('joliet');
      const names = (await iso.list('/')).map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining(['Grüße.md', 'Mixed Case.TXT', 'boot', 'empty']));
      // genisoimage cuts Joliet names to 64 characters.
      const long = names.find((n) => n.startsWith('long name'))!;
      expect(long).toBe(`${'long name '.repeat(10)}.bin`.slice(0, 64));
      expect(await sha256(await iso.readFile(`/${long}`))).toBe(await sha256(patternBytes(70_000, 5)));
    });
  });

  it('plain ISO 9660: names without their version, found whatever the case asked', async () => {
    const src = sourceFolder();
    fs.rmSync(join(src, 'cfg-link'));
    fs.rmSync(join(src, 'boot/grub/up'));
    const image = join(tmp.dir, `plain-${++counter}.iso`);
    runToolOk('genisoimage', ['-quiet', '-input-charset', 'utf-8', '-o', image, src], { env: UTF8 });
    await withImage(image, async (device) => {
      const iso = await openIso9660(device);
      expect((await iso.info()).names).toBe('iso9660');
      expect((await iso.list('/boot/grub')).map((e) => e.name)).toEqual(['GRUB.CFG']);
      expect(new TextDecoder().decode(await iso.readFile('/boot/grub/grub.cfg'))).toBe('set timeout=0\n');
      expect((await iso.stat('/EMPTY')).sizeBytes).toBe(0);
    });
  });

  it.skipIf(missingTools('grub-mkrescue', 'mformat') ?? (fs.existsSync('/usr/lib/grub/i386-pc/moddep.lst') ? null : 'no GRUB for BIOS'))(
    'a grub-mkrescue image: its El Torito entries with their paths, and its GRUB files',
    async () => {
      const src = join(tmp.dir, `rescue-${++counter}`);
      fs.mkdirSync(join(src, 'boot/grub'), { recursive: true });
      fs.writeFileSync(join(src, 'boot/grub/grub.cfg'), 'menuentry x { true }\n');
      const image = join(tmp.dir, `rescue-${counter}.iso`);
      runToolOk('grub-mkrescue', ['-o', image, src]);
      await withImage(image, async (device) => {
        const iso = await openIso9660(device);
        const info = await iso.info();
        expect(info.bootCatalog!.entries[0]).toMatchObject({ platform: 'bios', sectorCount: 4, path: '/boot/grub/i386-pc/eltorito.img' });
        const eltorito = await iso.readFile('/boot/grub/i386-pc/eltorito.img');
        // The boot info table xorriso patched in: the PVD at block 16, the image's own block.
        expect([...eltorito.subarray(8, 16)]).toEqual([
          16,
          0,
          0,
          0,
          ...new Uint8Array(new Uint32Array([info.bootCatalog!.entries[0]!.loadRba]).buffer),
        ]);
        expect(new TextDecoder().decode(await iso.readFile('/boot/grub/grub.cfg'))).toBe('menuentry x { true }\n');
        if (info.bootCatalog!.entries[1]) expect(info.bootCatalog!.entries[1]).toMatchObject({ platform: 'efi' });
      });
    },
    60_000,
  );
});

describe('a file of several extents (the multi-extent flag)', () => {
  it('reads as one file, in extent order', async () => {
    // Our own image of one 3-block file, its record then split in two by hand: 2048 bytes with
    // MULTI_EXTENT set, then the rest, with the same identifier (ECMA-119 6.5.1, 9.1.6).
    const data = patternBytes(3 * 2048 - 100, 7);
    const plan = planIso([{ type: 'file', path: '/BIG.BIN', content: data }], { dateMs: 0, rockRidge: false, joliet: false });
    const device = new MemoryBlockDevice(plan.sizeBytes);
    await writeIso(plan, device);
    const rootBlock = plan.internal.iso.directories[0]!.block;
    const extent = device.bytes.subarray(rootBlock * 2048, rootBlock * 2048 + 2048);
    const records = decodeDirectoryExtent(extent, 2048);
    const file = records[2]!;
    const first = encodeDirectoryRecord({ ...file, dataLength: 2048, fileFlags: FILE_FLAGS.MULTI_EXTENT });
    const second = encodeDirectoryRecord({ ...file, locationOfExtent: file.locationOfExtent + 1, dataLength: data.length - 2048 });
    const offset = records[0]!.lengthOfDirectoryRecord + records[1]!.lengthOfDirectoryRecord;
    extent.fill(0, offset);
    extent.set(first, offset);
    extent.set(second, offset + first.length);
    const iso = await openIso9660(device);
    expect(await iso.list('/')).toEqual([expect.objectContaining({ name: 'BIG.BIN', sizeBytes: data.length })]);
    expect(await sha256(await iso.readFile('/BIG.BIN'))).toBe(await sha256(data));
    expect(await iso.extents('/BIG.BIN')).toEqual([
      { fileOffsetBytes: 0, deviceOffsetBytes: file.locationOfExtent * 2048, lengthBytes: 2048 },
      { fileOffsetBytes: 2048, deviceOffsetBytes: (file.locationOfExtent + 1) * 2048, lengthBytes: data.length - 2048 },
    ]);
    expect([...(await iso.read('/BIG.BIN', 2040, 16))]).toEqual([...data.subarray(2040, 2056)]);
  });
});

describe('damaged images', () => {
  it('a folder pointing back at the root is refused by walk, not followed forever; a huge folder is refused', async () => {
    const plan = planIso([{ type: 'file', path: '/a/b/c.txt', content: new Uint8Array(3) }], { dateMs: 0, joliet: false });
    const device = new MemoryBlockDevice(plan.sizeBytes);
    await writeIso(plan, device);
    const dirs = plan.internal.iso.directories;
    const root = dirs[0]!;
    const a = dirs.find((d) => d.node.path === '/a')!;
    // The record of "b" inside /a: the third record of a's extent.
    const bRecord = a.records[2]!;
    const at = a.block * 2048 + bRecord.offsetInExtent;
    const loop = device.bytes.slice();
    const view = new DataView(loop.buffer);
    view.setUint32(at + 2, root.block, true);
    view.setUint32(at + 6, root.block, false);
    const looped = await openIso9660(new MemoryBlockDevice(loop));
    await expect(looped.walk()).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('is the same directory as /') });
    // A path names its own way through, however often: /a/b is the root again.
    expect((await looped.list('/a/b/a/b')).map((e) => e.name)).toEqual(['a']);

    const huge = device.bytes.slice();
    const hugeView = new DataView(huge.buffer);
    hugeView.setUint32(at + 10, 0x7fffffff, true);
    hugeView.setUint32(at + 14, 0x7fffffff, false);
    await expect((await openIso9660(new MemoryBlockDevice(huge))).list('/a/b')).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringContaining('damaged'),
    });
  });
});

describe('refusals', () => {
  it('says when a device holds no ISO image, and names missing paths', async () => {
    await expect(openIso9660(new MemoryBlockDevice(64 * 1024))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('not an ISO image'),
    });
    const plan = planIso([{ type: 'file', path: '/a', content: new Uint8Array(1) }], { dateMs: 0 });
    const device = new MemoryBlockDevice(plan.sizeBytes);
    await writeIso(plan, device);
    const iso = await openIso9660(device);
    await expect(iso.stat('/nope')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('/nope') });
    await expect(iso.readFile('/')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(iso.list('/a')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
