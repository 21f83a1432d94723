// Runs once before the integration project: starts the project's own servers (idempotent), migrates the database
// to the latest schema with the built migration CLI, exactly as `npm run infra:up && npm run db:migrate`, and makes
// sure Debian's Chromium is installed for the browser test.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

module.exports = async function integrationSetup() {
  const root = path.join(__dirname, '..', '..');
  execFileSync('bash', [path.join(root, 'deploy/local/infra.sh'), 'up'], { stdio: 'inherit' });
  const cli = path.join(root, 'dist/libs/db/src/cli.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" before the integration tests`);
  execFileSync(process.execPath, [cli, 'migrate'], { cwd: root, stdio: 'inherit', env: { ...process.env, LOG_LEVEL: 'warn' } });
  // The dashboard's browser test drives Debian's Chromium.
  execFileSync('bash', [path.join(root, 'deploy/local/browser.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
};
