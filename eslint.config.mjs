import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/**
 * Layers: apps → domain libs → infrastructure libs → contracts. A lower layer never imports a higher one; test
 * helpers (libs/testing) are for tests only.
 */
const LAYERS = {
  'type:app': ['type:domain', 'type:infra', 'type:contracts'],
  // The dashboard runs in the browser: it shares no code with the services, only the REST and socket.io contracts.
  'type:web': [],
  'type:domain': ['type:domain', 'type:infra', 'type:contracts'],
  'type:infra': ['type:infra', 'type:contracts'],
  'type:contracts': ['type:contracts'],
  'type:testing': ['type:domain', 'type:infra', 'type:contracts'],
};
const boundaries = (extra) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: Object.entries(LAYERS).map(([sourceTag, tags]) => ({ sourceTag, onlyDependOnLibsWithTags: [...tags, ...extra] })),
  },
];

export default [
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.nx/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': boundaries([]),
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', 'test/**/*.ts'],
    rules: {
      // Tests, and only tests, may use the helpers in libs/testing.
      '@nx/enforce-module-boundaries': boundaries(['type:testing']),
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
];
