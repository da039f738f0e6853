// ESLint flat config for every project. Pure libraries (domain, scheduler,
// reconcile) may not import IO: that is how module boundaries are enforced.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'postgres', 'dockerode', '@grpc/grpc-js', 'pino', 'systeminformation',
  '@electric-sql/*', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net',
  'http', 'node:http', 'child_process', 'node:child_process', '@berth/store', '@berth/transport', '@berth/proto',
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/src/gen/**', '**/.nx/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['libs/domain/**/*.ts', 'libs/scheduler/**/*.ts', 'libs/reconcile/**/*.ts', 'libs/ecs-model/**/*.ts', 'libs/aws-model/**/*.ts'],
    // The AWS CLI round trip of aws-model drives a real process and socket.
    ignores: ['**/*.itest.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ioModules, message: 'pure libraries import no IO: move it to an app or an IO lib' }] }],
    },
  },
);
