/**
 * One lint for the whole tree (`npm run lint`, part of `npm test`): ESLint's and typescript-eslint's
 * recommended rules, React's hook rules in the renderer, and the layers of docs/ARCHITECTURE.md
 * as an import rule (tests/layers-eslint.ts), so an editor shows a crossing import as it is typed.
 * Formatting is Prettier's alone (.prettierrc.json); no rule here is about layout.
 */
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { layersPlugin } from './tests/layers-eslint';

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'e2e/screenshots/**', 'assets/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { layers: layersPlugin },
    rules: {
      'layers/imports': 'error',
      // Unused names are mistakes, except the deliberate `_` ones (ignored arguments, rest omits).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { ...reactHooks.configs.recommended.rules },
  },
  {
    // Tests read untyped tool output (sfdisk --json, debugfs …) and build crafted inputs.
    files: ['**/*.test.{ts,tsx}', 'tests/**', 'e2e/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // Plain JavaScript run by Node: the launchers, the install and start scripts, CI's checks.
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: { sourceType: 'commonjs' },
  },
);
