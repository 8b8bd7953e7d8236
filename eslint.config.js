// ESLint: correctness and import order. Layout is Prettier's (.prettierrc.json); eslint-config-prettier
// turns off the rules that would argue with it.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import simpleImportSort from 'eslint-plugin-simple-import-sort'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'build/', 'test-results/', 'test-output/', 'tools/train/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  prettier,
  ...svelte.configs.prettier,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // Scripts and tests talk to a terminal; the app's own code reports through its adapters.
    files: ['tools/**', 'test/**', 'src-main/host/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests and build scripts read JSON of any shape (configs, CLI output) and poke at it.
    files: ['tools/**', 'test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
)
