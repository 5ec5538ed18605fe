import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', 'data', 'coverage', 'web/dist', '.shots', 'dist', '.stryker-tmp', 'reports'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', AbortController: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', performance: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through src/config.ts only.' }],
    },
  },
  { files: ['src/config.ts', 'test/**', 'bench/**', 'scripts/**', '**/*.test.ts', '**/*.contract.ts'], rules: { 'no-restricted-properties': 'off' } },
  // Tests read JSON answers loosely; asserting the shape is the test's job, not the type's.
  { files: ['test/**', '**/*.test.ts', '**/*.contract.ts', 'bench/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
