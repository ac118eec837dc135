// The lint `make test` runs: promises that nobody awaits or handles, and the layering of the
// design card, each rule also written in the folder's README:
//   - only gateway/ imports janode, and gateway/ imports nothing from control/ or web/ (gateway/README.md);
//   - control/src/domain/ imports neither Koa nor realtime/ nor http/ (domain/README.md);
//   - web/ takes only types from control/; at run time it may use shared/ (web/README.md), and
//     only the staff pages use Preact (the patient's page stays plain DOM);
//   - shared/ imports nothing of the project's other folders (shared/README.md).
import tseslint from 'typescript-eslint';

const JANODE = {
  paths: [{ name: 'janode', message: 'only gateway/ talks to Janus' }],
  patterns: [{ group: ['janode/*'], message: 'only gateway/ talks to Janus' }],
};
const DOMAIN_MESSAGE = 'control/src/domain/ is free of Koa and of transports: throw domain/errors.ts, let http/ and realtime/ map it';

export default tseslint.config(
  { ignores: ['node_modules/**', 'web/dist/**', '.run/**', 'deploy/**', 'monitoring/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['shared/**/*.ts', 'control/**/*.ts', 'gateway/**/*.ts', 'web/**/*.ts', 'web/**/*.tsx', 'test/**/*.ts'],
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
    files: ['shared/**/*.ts', 'control/**/*.ts', 'web/**/*.ts', 'web/**/*.tsx', 'test/**/*.ts'],
    // The gateway's own tests may reach into janode (session claim and handle adoption).
    ignores: ['test/gateway*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', JANODE],
    },
  },
  {
    // The domain's code (its tests may look at how http/ maps its errors).
    files: ['control/src/domain/**/*.ts'],
    ignores: ['control/src/domain/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...JANODE.paths, { name: 'koa', message: DOMAIN_MESSAGE }],
        patterns: [
          ...JANODE.patterns,
          { group: ['@koa/*', 'koa-*'], message: DOMAIN_MESSAGE },
          { group: ['**/realtime/*', '**/http/*'], message: DOMAIN_MESSAGE },
        ],
      }],
    },
  },
  {
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/control/**'], allowTypeImports: true, message: 'web/ takes only types from control/ (import type); shared code at run time lives in shared/' },
          { group: ['**/gateway/**'], message: 'web/ has nothing to do with the gateway' },
        ],
      }],
    },
  },
  {
    // The patient's page stays plain DOM and small: the staff pages' view library is not for it.
    files: ['web/src/patient/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...JANODE.paths, { name: 'preact', message: "the patient's page is plain DOM (web/README.md)" }],
        patterns: [...JANODE.patterns, { group: ['preact/*', '**/*.tsx', '**/dashboard/**', '**/admin/**', '**/reports/**'], message: "the patient's page is plain DOM (web/README.md)" }],
      }],
    },
  },
  {
    files: ['gateway/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/control/**', '**/web/**'], message: 'gateway/ knows nothing of the control plane or the pages (gateway/README.md)' }],
      }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        ...JANODE,
        patterns: [...JANODE.patterns, { group: ['**/control/**', '**/web/**', '**/gateway/**'], message: 'shared/ is pure: no imports from the other folders' }],
      }],
    },
  },
);
