/**
 * `layers/imports`: the layer table of docs/ARCHITECTURE.md as an ESLint rule (tests/layers.ts
 * decides), so an editor marks an import that crosses a layer the moment it is typed — the way VS
 * Code's own `code-layering` lint works. It sees every form: import and export … from, import(),
 * require().
 */
import { relative, resolve, sep } from 'node:path';
import type { Rule } from 'eslint';
import { checkImport } from './layers';

const ROOT = resolve(__dirname, '..');

export const layersImports: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports follow the layers of docs/ARCHITECTURE.md' },
    schema: [],
    messages: { layer: '{{reason}}' },
  },
  create(context) {
    const file = relative(ROOT, context.filename).split(sep).join('/');
    const check = (node: Rule.Node, specifier: unknown): void => {
      if (typeof specifier !== 'string') return;
      const reason = checkImport(file, specifier);
      if (reason !== null) context.report({ node, messageId: 'layer', data: { reason } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
      CallExpression: (node) => {
        const [first] = node.arguments;
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && first?.type === 'Literal') check(node, first.value);
      },
    };
  },
};

export const layersPlugin = { rules: { imports: layersImports } };
