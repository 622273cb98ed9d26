import type { PartitionInfo } from '../../../../shared/disk/disk-info';
import { bochsFloppyLine, FLOPPY_PRESETS, qemuFloppyArgs, type FloppyPresetName } from '../../../../shared/disk/geometry';
import type { GeometryReport } from '../../../../shared/disk/geometry-report';
import type { ImageShape } from '../../../../shared/disk/image-shape';
import { losetupLine } from '../../../../shared/commands/equivalents';
import { formatBytes, formatCount } from '../common/format';

function Row({ term, children, testId }: { term: string; children: React.ReactNode; testId?: string }) {
  return (
    <div data-testid={testId}>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/**
 * The numbers the OSDev article works out by hand, live (amounts grouped in thin spaces, sector
 * numbers as sfdisk and the fields write them, and commands as they are typed): cylinders × heads × sectors × 512,
 * bytes per cylinder, total sectors, the partition's first sector and byte offset (the
 * `losetup -o` value), blocks for `mke2fs`, the CHS limits, and the Bochs and QEMU lines.
 */
export function GeometryPanel({
  shape,
  report,
  floppy,
  partition,
  fileName,
}: {
  shape: ImageShape;
  report: GeometryReport | null;
  floppy: FloppyPresetName | null;
  partition: PartitionInfo | null;
  fileName: string;
}) {
  const g = shape.geometry;
  const file = fileName || (floppy ? 'floppy.img' : 'disk.img');
  return (
    <aside className="geometry" aria-labelledby="geometry-title" aria-live="polite" data-testid="geometry-panel">
      <h3 id="geometry-title" className="section-title">
        Geometry
      </h3>
      <dl className="geometry-list">
        <Row term="C × H × S × 512" testId="geometry-chs">
          <span className="mono">
            {formatCount(g.cylinders)} × {g.heads} × {g.sectorsPerTrack} × 512 = {formatCount(shape.sizeBytes)}
          </span>{' '}
          bytes
        </Row>
        <Row term="Size">
          {formatBytes(shape.sizeBytes)} <span className="muted">({formatBytes(shape.sizeBytes, { style: 'decimal' })})</span>
        </Row>
        <Row term="Bytes per cylinder">
          <span className="mono">
            {g.heads} × {g.sectorsPerTrack} × 512 = {formatCount(g.heads * g.sectorsPerTrack * 512)}
          </span>
        </Row>
        <Row term="Total sectors" testId="geometry-sectors">
          <span className="mono">{formatCount(shape.totalSectors)}</span>
        </Row>
        {partition && (
          <>
            <Row term="Partition 1" testId="geometry-partition">
              sectors <span className="mono">{partition.startSector}</span>–<span className="mono">{partition.endSector}</span>, byte offset{' '}
              <span className="mono">
                {partition.startSector} × 512 = {formatCount(partition.offsetBytes)}
              </span>
            </Row>
            <Row term="1 KiB blocks" testId="geometry-blocks">
              <span className="mono">{formatCount(Math.floor(partition.sizeBytes / 1024))}</span>
            </Row>
            <Row term="Loop device" testId="geometry-losetup">
              <code>
                {losetupLine({ image: file, partition: 1, startSector: partition.startSector, sectorCount: partition.sectorCount })}
              </code>
              <span className="muted"> — the article’s way to reach partition 1 (as root; the app’s Mount does it for you)</span>
            </Row>
            <Row term="mke2fs">
              <code>mke2fs -b 1024 /dev/loop0 {Math.floor(partition.sizeBytes / 1024)}</code>
            </Row>
          </>
        )}
        {report && (
          <>
            {report.cylinderChoice && !report.cylinderChoice.exact && (
              <Row term="Cylinders">
                {report.cylinderChoice.exactCylinders.toFixed(2)} for the size typed, rounded {report.cylinderChoice.chosen} to{' '}
                {report.geometry.cylinders}
              </Row>
            )}
            <Row term="dd">
              <code>
                dd if=/dev/zero of={file} bs={report.dd.blockSizeBytes}c count={report.dd.count}
              </code>
            </Row>
            <Row term="Bochs">
              <code>{report.bochs.replace('disk.img', file)}</code>
            </Row>
            <Row term="QEMU">
              <code>{report.qemu.drive.join(' ').replace('disk.img', file)}</code>
            </Row>
          </>
        )}
        {floppy && (
          <>
            <Row term="Format">{FLOPPY_PRESETS[floppy].description}</Row>
            <Row term="Bochs">
              <code>{bochsFloppyLine(file, FLOPPY_PRESETS[floppy])}</code>
            </Row>
            <Row term="QEMU">
              <code>{qemuFloppyArgs(file).drive.join(' ')}</code>
            </Row>
          </>
        )}
      </dl>
      {report && report.chs.passes !== 'none' && (
        <p className="callout warn" data-testid="chs-warning">
          {report.chs.explanation}
        </p>
      )}
      {report && report.notes.filter((n) => n !== report.chs.explanation).length > 0 && (
        <ul className="notes">
          {report.notes
            .filter((n) => n !== report.chs.explanation)
            .map((note) => (
              <li key={note}>{note}</li>
            ))}
        </ul>
      )}
    </aside>
  );
}
