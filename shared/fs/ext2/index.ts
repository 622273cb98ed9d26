/** ext2 in pure TypeScript: the formatter, the superblock reader, the block-map reader and the file layer (volume.ts). */
export { formatExt2, type Ext2FormatOptions, type Ext2FormatResult } from './format';
export { planExt2Layout, type Ext2BlockBytes, type Ext2InodeBytes, type Ext2Layout, type Ext2LayoutOptions } from './layout';
export { detectExt2, readExt2Usage, readSuperblock, usageFromSuperblock, type Ext2Superblock } from './superblock';
export { ext2FileExtents } from './block-map';
export { openExt2, type Ext2FileSystem, type Ext2OpenOptions } from './volume';
