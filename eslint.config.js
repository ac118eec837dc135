// The lint `make test` runs: promises that nobody awaits or handles, and the layering of the
// design card (only gateway/ imports janode; domain/ is Koa- and transport-free; web/ takes
// only types from control/).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'web/dist/**', '.run/**', 'deploy/**', 'monitoring/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['shared/**/*.ts', 'control/**/*.ts', 'gateway/**/*.ts', 'web/**/*.ts', 'test/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    files: ['shared/**/*.ts', 'control/**/*.ts', 'web/**/*.ts', 'test/**/*.ts'],
    // The gateway's own tests may reach into janode (session claim and handle adoption).
    ignores: ['test/gateway*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'janode', message: 'only gateway/ talks to Janus' }], patterns: [{ group: ['janode/*'], message: 'only gateway/ talks to Janus' }] }],
    },
  },
);
