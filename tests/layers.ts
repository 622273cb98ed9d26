/**
 * The layers of docs/ARCHITECTURE.md as rules, and a checker that reads import statements. Used by
 * layers.test.ts on the whole tree; kept apart so the test can also feed it made-up files.
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

/** Checks one file's imports against its area's rule. `file` is a POSIX path from the repo root. */
export function checkFile(file: string, source: string): Violation[] {
  const area = areaOf(file);
  const rule = RULES[area];
  const isTest = TEST_FILE.test(file);
  const violations: Violation[] = [];
  for (const specifier of importsOf(source)) {
    const refuse = (reason: string) => violations.push({ file, specifier, reason });
    if (specifier.startsWith('.')) {
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      const targetArea = areaOf(target);
      if (targetArea === area) continue;
      // Tests may reach anything to check it independently; they still never import electron.
      if (isTest) continue;
      if (targetArea === 'other') {
        // package.json (the version) is fine anywhere Node runs; other root files are not code.
        if (target === 'package.json' && rule.node) continue;
        refuse(`${area}/ may not import ${target}`);
      } else if (!rule.areas.includes(targetArea)) {
        refuse(`${area}/ may not import from ${targetArea}/ (docs/ARCHITECTURE.md, layers)`);
      }
    } else if (specifier === 'electron' || specifier.startsWith('electron/')) {
      if (!rule.electron) refuse(`only electron/main and electron/preload may import electron`);
    } else if (isNodeBuiltin(specifier)) {
      if (!rule.node && !isTest) refuse(`${area}/ must run without Node: no ${specifier}`);
    } else if (rule.forbiddenPackages?.includes(packageName(specifier))) {
      refuse(`${area}/ may not import ${packageName(specifier)}`);
    }
  }
  return violations;
}
