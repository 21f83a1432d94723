// Two projects in one run: `unit` (pure rules, no I/O) and `integration` (real Postgres/Redis/NATS started by
// deploy/local/infra.sh; migrations run once in the global setup). The whole run is serial (--runInBand in
// package.json) because integration tests stop and start the shared servers.
const fs = require('node:fs');
const path = require('node:path');

const swc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
swc.sourceMaps = 'inline';
const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', { ...swc, swcrc: false }],
    // @cosmjs/crypto 0.39 loads @noble/@scure, and jose 6 is used the same way: ES modules only; Node requires them natively, Jest needs them compiled.
    '/node_modules/(@noble|@scure|jose)/.+\\.js$': ['@swc/jest', { swcrc: false, jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@noble/|@scure/|jose/)'],
  moduleNameMapper: { '^@unstuck/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts' },
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.data/'],
  setupFiles: ['<rootDir>/tools/jest/setup-env.js'],
};

module.exports = {
  reporters: ['default', '<rootDir>/tools/jest/summary-reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,tools,test}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/tools/jest/integration-setup.js',
      slowTestThreshold: 30,
      // Against real servers on a shared two-core machine, boots and waits (a service's readiness, up to 30 s) take
      // longer than Jest's 5 s default when the machine is slow: 60 s here (Jest reads `testTimeout` only from the
      // top-level config, so the project sets it in a setup file). Tests that need more set their own.
      setupFilesAfterEnv: ['<rootDir>/tools/jest/integration-timeout.js'],
    },
  ],
};
