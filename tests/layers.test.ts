import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { layersPlugin } from './layers-eslint';
import { checkFile, importsOf } from './layers';

const ROOT = join(__dirname, '..');
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) files.push(...sourceFiles(full));
    else if (SOURCE.test(name)) files.push(full);
  }
  return files;
}

describe('layers (docs/ARCHITECTURE.md)', () => {
  it('no file in the tree imports across a layer', () => {
    const files = ['shared', 'electron', 'renderer'].flatMap((dir) => sourceFiles(join(ROOT, dir)));
    expect(files.length).toBeGreaterThan(10);
    const violations = files.flatMap((file) => checkFile(relative(ROOT, file).split(sep).join('/'), readFileSync(file, 'utf8')));
    expect(violations).toEqual([]);
  });

  it('reads every form of import', () => {
    const source = [
      "import fs from 'node:fs';",
      "import { a, b } from './x';",
      "import type { T } from '../types';",
      "export * from './re-export';",
      "import './side-effect.css';",
      "const m = await import('./lazy');",
      "const p = require('path');",
      'import {\n  multi,\n  line,\n} from "../multi";',
    ].join('\n');
    expect(importsOf(source).sort()).toEqual(
      ['node:fs', './x', '../types', './re-export', './side-effect.css', './lazy', 'path', '../multi'].sort(),
    );
  });

  it("fails when shared/ imports Node (`import fs from 'node:fs'`)", () => {
    expect(checkFile('shared/disk/mbr.ts', "import fs from 'node:fs';")).toEqual([
      { file: 'shared/disk/mbr.ts', specifier: 'node:fs', reason: 'shared/ must run without Node: no node:fs' },
    ]);
    expect(checkFile('shared/disk/mbr.ts', "import { readFile } from 'fs/promises';")).toHaveLength(1);
  });

  it('fails when anything but electron/main and electron/preload imports electron', () => {
    expect(checkFile('electron/services/images.ts', "import { app } from 'electron';")).toHaveLength(1);
    expect(checkFile('shared/api/contract.ts', "import type { IpcMain } from 'electron';")).toHaveLength(1);
    expect(checkFile('renderer/src/App.tsx', "import { ipcRenderer } from 'electron';")).toHaveLength(1);
    expect(checkFile('electron/main/index.ts', "import { app } from 'electron';")).toEqual([]);
    expect(checkFile('electron/preload/index.ts', "import { contextBridge } from 'electron';")).toEqual([]);
  });

  it('keeps the renderer to shared/ and itself', () => {
    expect(checkFile('renderer/src/a.ts', "import { x } from '../../electron/services';")).toHaveLength(1);
    expect(checkFile('renderer/src/a.ts', "import { x } from '../../shared/api/contract';")).toEqual([]);
    expect(checkFile('renderer/src/a.ts', "import { create } from 'zustand';")).toEqual([]);
    expect(checkFile('renderer/src/a.ts', "import os from 'os';")).toHaveLength(1);
  });

  it('keeps shared/ free of React and of the services', () => {
    expect(checkFile('shared/x.ts', "import { useState } from 'react';")).toHaveLength(1);
    expect(checkFile('shared/x.ts', "import { dispatch } from '../electron/services';")).toHaveLength(1);
  });

  it('lets the CLI use the services but not the main process', () => {
    expect(checkFile('electron/cli/main.ts', "import { createServices } from '../services';")).toEqual([]);
    expect(checkFile('electron/cli/main.ts', "import { x } from '../main/ipc';")).toHaveLength(1);
    expect(checkFile('electron/preload/index.ts', "import { x } from '../services';")).toHaveLength(1);
  });

  it('lets test files use Node and the test helpers, but not electron', () => {
    expect(checkFile('shared/disk/mbr.test.ts', "import { app } from 'electron';")).toHaveLength(1);
    expect(checkFile('shared/disk/mbr.test.ts', "import { runTool } from '../../tests/support/host';\nimport fs from 'node:fs';")).toEqual(
      [],
    );
  });
});

describe('the layers as an ESLint rule (layers/imports), as an editor shows them', () => {
  const linter = new Linter({ configType: 'flat' });
  const lint = (filename: string, code: string) =>
    linter.verify(
      code,
      [
        {
          files: ['**/*.ts', '**/*.tsx'],
          languageOptions: { parser: tseslint.parser },
          plugins: { layers: layersPlugin },
          rules: { 'layers/imports': 'error' },
        },
      ],
      { filename: join(ROOT, filename) },
    );

  it('marks every form of a crossing import, with the reason', () => {
    const messages = lint(
      'shared/disk/mbr.ts',
      [
        "import fs from 'node:fs';",
        "export { x } from '../../electron/services/x';",
        "export * from '../../renderer/src/y';",
        "const z = await import('electron');",
        "const p = require('path');",
        "import { ok } from './ok';",
      ].join('\n'),
    );
    expect(messages.map((m) => [m.line, m.message])).toEqual([
      [1, 'shared/ must run without Node: no node:fs'],
      [2, 'shared/ may not import from electron/services/ (docs/ARCHITECTURE.md, layers)'],
      [3, 'shared/ may not import from renderer/ (docs/ARCHITECTURE.md, layers)'],
      [4, 'only electron/main and electron/preload may import electron'],
      [5, 'shared/ must run without Node: no path'],
    ]);
  });

  it('lets each layer import what the table allows', () => {
    expect(lint('electron/main/index.ts', "import { app } from 'electron';\nimport { createServices } from '../services';")).toEqual([]);
    expect(lint('renderer/src/a.tsx', "import { create } from 'zustand';\nimport { x } from '../../shared/api/contract';")).toEqual([]);
    expect(lint('renderer/src/a.tsx', "import os from 'os';").map((m) => m.message)).toEqual(['renderer/ must run without Node: no os']);
  });
});
