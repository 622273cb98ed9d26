/**
 * The part of the `ext2fs` package (balena's libext2fs compiled to WASM, v4.2) that
 * electron/services/fs/ext2.ts uses. The package ships no types; these follow its lib/fs.js.
 */
declare module 'ext2fs' {
  import type { Disk } from 'file-disk';

  /** lib/util.js: what every failing call rejects with. `code` is an errno name ('ENOENT' …). */
  export interface ErrnoException extends Error {
    errno: number;
    code: string;
    syscall: string;
  }

  export interface Stats {
    mode: number;
    nlink: number;
    uid: number;
    gid: number;
    ino: number;
    size: number;
    /** i_blocks: 512-byte units, indirect blocks included. */
    blocks: number;
    blksize: number;
    atime: Date;
    mtime: Date;
    ctime: Date;
  }

  export interface FileHandle {
    readonly fd: number;
  }

  export interface Promises {
    /** flags as numbers (Linux O_* values, see `constants`); `mode` applies when O_CREAT creates. */
    open(path: string, flags: number, mode?: number): Promise<FileHandle>;
    close(fd: number): Promise<void>;
    /** Reads into buffer[offset…]. */
    read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
    /** Beware: lib/fs.js ignores `offset` when it is a number; always pass 0 and a view. */
    write(fd: number, buffer: Buffer, offset: 0, length: number, position: number): Promise<{ bytesWritten: number }>;
    /** Names without "." and "..", decoded as UTF-8 (the encoding option is ignored). */
    readdir(path: string): Promise<string[]>;
    stat(path: string): Promise<Stats>;
    lstat(path: string): Promise<Stats>;
    readlink(path: string): Promise<string>;
    /** Sets exactly `mode` (no umask). */
    mkdir(path: string, mode: number): Promise<void>;
    rmdir(path: string): Promise<void>;
    unlink(path: string): Promise<void>;
    rename(from: string, to: string): Promise<void>;
    symlink(target: string, path: string): Promise<void>;
    chmod(path: string, mode: number): Promise<void>;
    readonly constants: Readonly<Record<'O_RDONLY' | 'O_WRONLY' | 'O_CREAT' | 'O_TRUNC' | 'O_NOATIME' | 'S_IFMT' | 'S_IFREG' | 'S_IFDIR' | 'S_IFLNK', number>>;
  }

  export interface MountedFs {
    promises: Promises;
  }

  /** Opens the ext2/3/4 at byte `offset` of `disk` read-write (ext2fs_open + read bitmaps). */
  export function mount(disk: Disk, offset?: number): Promise<MountedFs>;
  /** Closes open files and runs ext2fs_close: superblock, descriptors and bitmaps are written. */
  export function umount(fs: MountedFs): Promise<void>;
}
