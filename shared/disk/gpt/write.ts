/**
 * writeGpt: validate, then write the protective MBR and both GPT copies. Nothing is written when
 * the table is invalid.
 */
import type { BlockDevice } from '../block-device';
import { deviceSectors, PROTECTIVE_MBR_LBA, SECTOR_SIZE_BYTES } from './layout';
import { encodeGpt, type GptTable } from './table';
import { findGptProblems, validationError, type GptProblem } from './validate';

/**
 * Writes `table` to `device`, keeping the MBR boot code (bytes 0–439) and disk signature already
 * in sector 0. Throws LoopbackError('VALIDATION') — before any write — when the table is invalid
 * or was laid out for a disk of another size.
 */
export async function writeGpt(device: BlockDevice, table: GptTable): Promise<void> {
  const sectors = deviceSectors(device.sizeBytes);
  const problems: GptProblem[] = findGptProblems(table);
  if (table.diskSectors !== sectors) {
    problems.unshift({
      kind: 'layout',
      message: `the table is laid out for a disk of ${table.diskSectors} sectors but the device has ${sectors} sectors (${device.sizeBytes} bytes)`,
      partitions: [],
    });
  }
  if (problems.length > 0) throw validationError('write the GPT (nothing was written)', problems);
  const sector0 = await device.read(PROTECTIVE_MBR_LBA * SECTOR_SIZE_BYTES, SECTOR_SIZE_BYTES);
  for (const { lba, bytes } of encodeGpt(table, sector0)) await device.write(lba * SECTOR_SIZE_BYTES, bytes);
  await device.flush();
}
