import type { ReactNode } from 'react';
import { useHostStore } from '../../stores/host-tools';
import { forgetRecent, openImage, useImagesStore } from '../../stores/images';
import { roleReady } from '../host-tools/summary';
import { RecentImages } from '../open-image/RecentImages';
import type { ToolRole } from '../../../../shared/host/tools';

const STEPS: { title: string; text: ReactNode; role?: ToolRole }[] = [
  { title: 'New image', text: 'Floppy presets or a hard disk by size or C/H/S, with the cylinder arithmetic done for you.' },
  { title: 'Partition', text: 'MBR or GPT, drawn to scale: add, resize, move, type and bootable flag, aligned to 63 or 2048.' },
  { title: 'Format', text: 'FAT12, FAT16, FAT32 or ext2, written straight into the image file — no root, no loop device.' },
  { title: 'Boot', text: 'GRUB 2, GRUB legacy (stage1/stage2 + menu.lst) or your own boot sector.', role: 'boot' },
  { title: 'Files', text: 'Drag files and folders in; browse, make folders, delete, extract.' },
  { title: 'Mount', text: 'Attach to a loop device and mount it for your system’s tools, with one elevation prompt.', role: 'loop' },
  { title: 'Run', text: 'Launch in QEMU with a serial console, gdb stub and debugcon.', role: 'run' },
  {
    title: 'Repeat',
    text: (
      <>
        Save it all as a recipe; <code>loopstudio build</code> replays it in your Makefile.
      </>
    ),
  },
];

export function Welcome({ onShowTools }: { onShowTools: () => void }) {
  const report = useHostStore((s) => s.report);
  const recent = useImagesStore((s) => s.recent);

  return (
    <section className="welcome" aria-labelledby="welcome-title">
      <h1 id="welcome-title">Disk images for your operating system</h1>
      <p className="lead">
        The loopback-device recipe — <code>dd</code>, cylinder arithmetic, <code>fdisk</code>, <code>losetup -o 32256</code>,{' '}
        <code>mke2fs</code>, GRUB’s stages, <code>qemu</code> — as a guided, safe and repeatable tool.
      </p>
      {/* New image… and Open image… are in the sidebar, always: not repeated here. */}
      {recent.length > 0 ? (
        <div className="welcome-recent">
          <RecentImages recent={recent} heading="Recent images" headingLevel={2} onOpen={openImage} onForget={forgetRecent} />
        </div>
      ) : (
        <p className="welcome-start muted" data-testid="welcome-start">
          Start with <strong>New image…</strong> or <strong>Open image…</strong> at the top of the sidebar; the images you open are listed
          here next time.
        </p>
      )}
      <ol className="steps">
        {STEPS.map((step, i) => {
          const ready = step.role && report ? roleReady(report.tools, step.role) : null;
          return (
            <li key={step.title} className="step">
              <span className="step-number" aria-hidden="true">
                {i + 1}
              </span>
              <div>
                <h3>{step.title}</h3>
                <p>{step.text}</p>
                {ready !== null && (
                  <button type="button" className={`step-host ${ready ? 'ok' : 'warn'}`} onClick={onShowTools}>
                    {ready ? 'Host tools ready' : 'Host tool missing — see how to install'}
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
