/**
 * The layers of docs/ARCHITECTURE.md as rules, and a checker of one import at a time. ESLint runs
 * it on every import as it is typed (the `layers/imports` rule in eslint.config.ts, so an editor
 * shows the violation at once), and layers.test.ts feeds it made-up files.
 */
import { builtinModules } from 'node:module';
import { posix } from 'node:path';

export type Area =
  | 'shared'
  | 'electron/main'
  | 'electron/preload'
  | 'electron/services'
  | 'electron/platform'
  | 'electron/privileged'
  | 'electron/cli'
  | 'renderer'
  | 'e2e'
  | 'tests'
  | 'bench'
  | 'scripts'
  | 'other';

const AREAS: Area[] = [
  'electron/main',
  'electron/preload',
  'electron/services',
  'electron/platform',
  'electron/privileged',
  'electron/cli',
  'shared',
  'renderer',
  'e2e',
  'tests',
  'bench',
  'scripts',
];

export function areaOf(repoPath: string): Area {
  return AREAS.find((area) => repoPath === area || repoPath.startsWith(`${area}/`)) ?? 'other';
}

interface Rule {
  /** Project areas this area may import from (itself is always allowed). */
  areas: Area[];
  electron: boolean;
  node: boolean;
  /** npm packages that are refused even though packages in general are allowed. */
  forbiddenPackages?: string[];
}

/** docs/ARCHITECTURE.md, "Layers: who may import what". */
export const RULES: Record<Area, Rule> = {
  shared: { areas: [], electron: false, node: false, forbiddenPackages: ['react', 'react-dom', 'zustand'] },
  'electron/main': { areas: ['electron/services', 'electron/platform', 'electron/privileged', 'shared'], electron: true, node: true },
  'electron/preload': { areas: ['shared'], electron: true, node: false },
  'electron/services': { areas: ['shared', 'electron/platform', 'electron/privileged'], electron: false, node: true },
  'electron/platform': { areas: ['shared'], electron: false, node: true },
  'electron/privileged': { areas: ['shared', 'electron/platform'], electron: false, node: true },
  'electron/cli': { areas: ['shared', 'electron/services'], electron: false, node: true },
  renderer: { areas: ['shared'], electron: false, node: false },
  e2e: { areas: AREAS, electron: true, node: true },
  tests: { areas: AREAS, electron: false, node: true },
  bench: { areas: AREAS, electron: false, node: true },
  // Build and install tooling (bundles, start, postinstall): any part of the tree, under Node.
  // `electron` here is the npm package that says where the binary is, for `npm start`.
  scripts: { areas: AREAS, electron: true, node: true },
  other: { areas: AREAS, electron: true, node: true },
};

/** Test files run under Node with vitest: they may also use Node and any part of the tree. */
const TEST_FILE = /\.test\.tsx?$/;

const IMPORT_PATTERNS = [
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g,
  /(?:^|[\s;])import\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
];

export function importsOf(source: string): string[] {
  const found = new Set<string>();
  for (const pattern of IMPORT_PATTERNS) for (const match of source.matchAll(pattern)) found.add(match[1]!);
  return [...found];
}

const NODE_BUILTINS = new Set(builtinModules);

export function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || NODE_BUILTINS.has(specifier.split('/')[0]!);
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

export interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

/** Why `file` may not import `specifier`, or null. `file` is a POSIX path from the repo root. */
export function checkImport(file: string, specifier: string): string | null {
  const area = areaOf(file);
  const rule = RULES[area];
  const isTest = TEST_FILE.test(file);
  if (specifier.startsWith('.')) {
    const target = posix.normalize(posix.join(posix.dirname(file), specifier));
    const targetArea = areaOf(target);
    // Tests may reach anything to check it independently; they still never import electron.
    if (targetArea === area || isTest) return null;
    if (targetArea === 'other') {
      // package.json (the version) is fine anywhere Node runs; other root files are not code.
      return target === 'package.json' && rule.node ? null : `${area}/ may not import ${target}`;
    }
    return rule.areas.includes(targetArea) ? null : `${area}/ may not import from ${targetArea}/ (docs/ARCHITECTURE.md, layers)`;
  }
  if (specifier === 'electron' || specifier.startsWith('electron/')) {
    return rule.electron ? null : 'only electron/main and electron/preload may import electron';
  }
  if (isNodeBuiltin(specifier)) return rule.node || isTest ? null : `${area}/ must run without Node: no ${specifier}`;
  return rule.forbiddenPackages?.includes(packageName(specifier)) ? `${area}/ may not import ${packageName(specifier)}` : null;
}

/** Checks one file's imports against its area's rule. `file` is a POSIX path from the repo root. */
export function checkFile(file: string, source: string): Violation[] {
  return importsOf(source).flatMap((specifier) => {
    const reason = checkImport(file, specifier);
    return reason === null ? [] : [{ file, specifier, reason }];
  });
}
