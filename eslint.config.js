// ESLint: the recommended JavaScript and typescript-eslint rules over the sources, tests,
// benchmarks and tools; formatting is Prettier's job (npm run lint runs both checks).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config({ ignores: ['dist/', 'build/', 'node_modules/'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', performance: 'readonly', fetch: 'readonly' } },
  rules: {
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    // deliberate in tests of loosely typed code and in the few `any` seams, each marked by a comment
    '@typescript-eslint/no-explicit-any': 'off',
  },
});
