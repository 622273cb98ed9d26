/**
 * Loop devices for an image: which image and which part of it (a partition's range, its
 * filesystem), the helper's attach step for it and how later steps name the device it makes; the
 * actions `attach` and `detach`, and `format`, which attaches only for the host's mkfs to run.
 */
import { promises as fs } from 'node:fs';
import type { LoopActionResult } from '../../shared/api/loops';
import type { PartitionInfo } from '../../shared/disk/disk-info';
import { LoopbackError } from '../../shared/errors';
import type { FsType, FsUsage } from '../../shared/fs/types';
import { attachEquivalent, formatEquivalent } from '../platform/loop/index';
import type { MountFamily } from '../platform/loop/types';
import type { DeviceRef, HelperStep } from '../privileged/request';
import { requireRegularFile, withImage } from './file-block-device';
import type { JournalEntry } from './loop-journal';
import type { LoopLedger } from './loops-ledger';
import { describeVolume, detectFileSystem, usageOf, volumeWindow } from './volumes';

/** An image and the part of it the loop device shows. */
export interface Target {
  image: string;
  imageDev: string;
  imageIno: string;
  partition: PartitionInfo | null;
  /** The image's partition table ('none' for a whole-image volume, or when no volume was asked for). */
  table: 'mbr' | 'gpt' | 'none';
  offsetBytes: number;
  sizeBytes: number | null;
  family: MountFamily | null;
  fs: FsType | null;
  heads: number;
  sectorsPerTrack: number;
}

export interface AttachOptions {
  partition?: number;
  /** Let the kernel make /dev/loopNpM nodes for the image's partitions (whole image only). */
  partscan?: boolean;
  readOnly?: boolean;
}

export interface LoopFormatOptions {
  label?: string;
  /** ext2: mke2fs -b (default 1024, the article's). */
  blockBytes?: 1024 | 4096;
  /** FAT: bytes per cluster (mkfs.fat -s / newfs_msdos -c, in sectors); default: the tool's choice. */
  clusterBytes?: number;
}

export interface LoopFormatResult extends LoopActionResult {
  volume: string;
  fs: FsType;
  usage: FsUsage | null;
}

const FS_FAMILY: Record<FsType, MountFamily> = { fat12: 'fat', fat16: 'fat', fat32: 'fat', ext2: 'ext2' };

/**
 * The host mkfs's options, checked before the password prompt with the rootless format's words:
 * a block size for ext2, a cluster size for FAT, a label the filesystem can hold (the helper's
 * schema checks them again, as root).
 */
function checkLoopFormatOptions(fsType: FsType, options: LoopFormatOptions): void {
  const invalid = (message: string) => new LoopbackError('INVALID_INPUT', message);
  if (fsType === 'ext2') {
    if (options.clusterBytes !== undefined) throw invalid('--cluster-size is for FAT; ext2 takes --block-size 1024|4096');
    if (options.blockBytes !== undefined && options.blockBytes !== 1024 && options.blockBytes !== 4096)
      throw invalid(`--block-size is 1024 or 4096 for ext2, not ${options.blockBytes}`);
  } else {
    if (options.blockBytes !== undefined) throw invalid('--block-size is for ext2; FAT takes --cluster-size BYTES');
    const c = options.clusterBytes;
    if (c !== undefined && (!Number.isInteger(c) || c < 512 || c > 64 * 1024 || (c & (c - 1)) !== 0)) {
      throw invalid(`--cluster-size is a power of 2 from 512 to 65536 bytes, not ${c}`);
    }
  }
  const label = options.label;
  if (label !== undefined) {
    const max = fsType === 'ext2' ? 16 : 11;
    if (!/^[A-Za-z0-9 _.-]+$/.test(label) || label.startsWith('-') || label.length > max) {
      throw invalid(
        `--label for the host's ${fsType === 'ext2' ? 'mke2fs' : 'mkfs.fat'} is 1–${max} letters, digits, spaces, _ . - (not starting with -), not "${label}"`,
      );
    }
  }
}

export class LoopDevices {
  constructor(private readonly ledger: LoopLedger) {}

  // ── images ─────────────────────────────────────────────────────────────────────────────────

  /**
   * The image and the part of it to use. `needVolume`: the caller wants a filesystem's volume
   * (mount, format), so a partitioned image needs -p N, as for the rootless engine's commands.
   */
  async target(image: string, partition: number | undefined, needVolume: boolean): Promise<Target> {
    await requireRegularFile(image);
    const path = await fs.realpath(image);
    const stats = await fs.stat(path, { bigint: true });
    return withImage(path, false, async (file) => {
      const window =
        needVolume || partition !== undefined
          ? await volumeWindow(file, { image, ...(partition !== undefined ? { partition } : {}) })
          : null;
      const disk = window?.disk ?? null;
      const fs = window ? await detectFileSystem(window.device) : null;
      const geometry = disk?.geometry;
      return {
        image: path,
        imageDev: String(stats.dev),
        imageIno: String(stats.ino),
        partition: window?.partition ?? null,
        table: disk?.table ?? 'none',
        offsetBytes: window?.partition?.offsetBytes ?? 0,
        sizeBytes: window?.partition?.sizeBytes ?? null,
        family: fs ? FS_FAMILY[fs] : null,
        fs,
        heads: geometry?.heads ?? 16,
        sectorsPerTrack: geometry?.sectorsPerTrack ?? 63,
      };
    });
  }

  /** The attach step for a target: by offset on Linux, the whole image on the BSDs. */
  attachStep(target: Target, extra: { partscan?: boolean; readOnly?: boolean } = {}): HelperStep {
    const byOffset = this.ledger.requireBackend().attachesByOffset && target.partition !== null && !extra.partscan;
    return {
      op: 'attach',
      image: target.image,
      ...(byOffset ? { offsetBytes: target.offsetBytes, ...(target.sizeBytes !== null ? { sizeBytes: target.sizeBytes } : {}) } : {}),
      ...(extra.partscan ? { partscan: true } : {}),
      ...(extra.readOnly ? { readOnly: true } : {}),
    };
  }

  /** The device a later step uses: the attached device, or its partition node (BSD, partscan). */
  deviceRef(target: Target, attachStep: number, viaNode: boolean): DeviceRef {
    const node = target.partition !== null && (viaNode || !this.ledger.requireBackend().attachesByOffset);
    return node ? { step: attachStep, partition: target.partition!.index } : { step: attachStep };
  }

  /** The range check for a device made by attachStep (Linux only: BSD nodes are the kernel's reading). */
  expect(target: Target): { expect?: { offsetBytes: number; sizeBytes: number | null } } {
    return this.ledger.requireBackend().system === 'linux'
      ? { expect: { offsetBytes: target.offsetBytes, sizeBytes: target.sizeBytes } }
      : {};
  }

  /** The journal's record of what a device made by attachStep covers. */
  journalFields(target: Target): Pick<JournalEntry, 'image' | 'imageDev' | 'imageIno' | 'partition' | 'offsetBytes' | 'sizeBytes'> {
    const byOffset = this.ledger.requireBackend().attachesByOffset && target.partition !== null;
    return {
      image: target.image,
      imageDev: target.imageDev,
      imageIno: target.imageIno,
      partition: target.partition?.index ?? null,
      offsetBytes: byOffset ? target.offsetBytes : 0,
      sizeBytes: byOffset ? target.sizeBytes : null,
    };
  }

  /** The journal entry written before a loop device is attached, so a crash leaves a trace. */
  private recordAttachIntent(target: Target): Promise<JournalEntry> {
    return this.ledger.record({
      kind: 'attach',
      state: 'attaching',
      ...this.journalFields(target),
      device: null,
      mountDir: null,
      family: null,
    });
  }

  // ── actions ────────────────────────────────────────────────────────────────────────────────

  /** `loopstudio attach IMAGE [-p N]`: the article's `losetup [-o OFFSET] /dev/loopN IMAGE`. */
  async attach(image: string, options: AttachOptions = {}): Promise<LoopActionResult> {
    const { ledger } = this;
    const backend = ledger.requireBackend();
    if (options.partscan && options.partition !== undefined)
      throw new LoopbackError('INVALID_INPUT', '--partscan attaches the whole image; leave out -p');
    const target = await this.target(image, options.partition, false);
    const entry = await this.recordAttachIntent(target);
    const { outcome, commands } = await ledger.run([this.attachStep(target, options)], entry.id);
    const whole = ledger.reported(outcome, 0);
    const device = target.partition !== null && !backend.attachesByOffset ? backend.partitionDevice(whole, target.partition.index) : whole;
    await ledger.journal.patch(entry.id, { state: 'attached', device });
    await ledger.changed();
    return {
      entries: [ledger.view({ ...entry, state: 'attached', device }, { attached: true, mounted: false })],
      device,
      mountDir: null,
      commands,
      elevation: outcome.elevation,
      equivalent: attachEquivalent(backend, {
        image: target.image,
        device: whole,
        offsetBytes: target.offsetBytes,
        sizeBytes: target.sizeBytes,
      }),
    };
  }

  /** `loopstudio detach DEV`: only a device Loopback Studio attached, and only when not mounted. */
  async detach(device: string): Promise<LoopActionResult> {
    const { ledger } = this;
    const backend = ledger.requireBackend();
    const entries = (await ledger.reconcile()).filter((e) => e.device && backend.wholeDevice(e.device) === backend.wholeDevice(device));
    if (entries.length === 0) {
      throw new LoopbackError(
        'NOT_FOUND',
        `${device} was not attached by Loopback Studio (it is not in ${ledger.journal.path}); detach it yourself if it is yours (${backend.tool})`,
        { device },
      );
    }
    const mounted = entries.find((e) => e.live.mounted);
    if (mounted)
      throw new LoopbackError('VALIDATION', `${device} is mounted at ${mounted.mountDir}: run loopstudio umount ${mounted.mountDir}`, {
        device,
      });
    return ledger.release(entries);
  }

  /** Formats a volume with the host's mkfs through a loop device: attach, mkfs, detach. */
  async format(image: string, partition: number | undefined, fsType: FsType, options: LoopFormatOptions = {}): Promise<LoopFormatResult> {
    const { ledger } = this;
    const backend = ledger.requireBackend();
    checkLoopFormatOptions(fsType, options);
    const target = await this.target(image, partition, true);
    const entry = await this.recordAttachIntent(target);
    const sizeBytes = target.sizeBytes ?? (await fs.stat(target.image)).size;
    const mkfs: Extract<HelperStep, { op: 'mkfs' }> = {
      op: 'mkfs',
      device: this.deviceRef(target, 0, false),
      image: target.image,
      fs: fsType,
      ...this.expect(target),
      ...(options.label !== undefined ? { label: options.label } : {}),
      ...(options.blockBytes !== undefined ? { blockBytes: options.blockBytes } : {}),
      ...(options.clusterBytes !== undefined ? { clusterBytes: options.clusterBytes } : {}),
      // The article's `mke2fs -b1024 /dev/loop0 #blocks`, #blocks being fdisk's 1 KiB blocks.
      ...(fsType === 'ext2' ? { blocks1KiB: Math.floor(sizeBytes / 1024) } : {}),
      ...(fsType !== 'ext2'
        ? { hiddenSectors: target.partition?.startSector ?? 0, heads: target.heads, sectorsPerTrack: target.sectorsPerTrack }
        : {}),
    };
    const result = await ledger.run([this.attachStep(target), mkfs, { op: 'detach', device: { step: 0 }, image: target.image }], entry.id);
    await ledger.journal.remove([entry.id]);
    await ledger.changed();
    const ref = { image, ...(partition !== undefined ? { partition } : {}) };
    const usage = await withImage(target.image, false, async (file) => usageOf((await volumeWindow(file, ref)).device));
    const device = ledger.reported(result.outcome, 0);
    const mkfsDevice = ledger.reported(result.outcome, 1);
    return {
      volume: describeVolume(ref),
      fs: fsType,
      usage,
      entries: [],
      device,
      mountDir: null,
      commands: result.commands,
      elevation: result.outcome.elevation,
      equivalent: formatEquivalent(
        backend,
        { image: target.image, device, offsetBytes: target.offsetBytes, sizeBytes: target.sizeBytes },
        backend.mkfs({ ...mkfs, device: mkfsDevice }),
      ),
    };
  }
}
