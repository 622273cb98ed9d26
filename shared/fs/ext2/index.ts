/** ext2: our own formatter and the superblock reader (file operations live in electron/services/fs/ext2.ts). */
export { formatExt2, type Ext2FormatOptions, type Ext2FormatResult } from './format';
export { planExt2Layout, type Ext2BlockBytes, type Ext2InodeBytes, type Ext2Layout, type Ext2LayoutOptions } from './layout';
export { detectExt2, readExt2Usage, readSuperblock, usageFromSuperblock, type Ext2Superblock } from './superblock';
export { ext2FileExtents } from './block-map';
