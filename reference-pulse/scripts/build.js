// TEST-ONLY build step: Pulse compiles TypeScript into dist/; this stand-in
// copies its sources there and stamps the build, so the same
// `npm ci && npm run build && node dist/main` path is exercised.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist);
for (const file of fs.readdirSync(path.join(root, 'src'))) {
  fs.copyFileSync(path.join(root, 'src', file), path.join(dist, file));
}
const { version } = require(path.join(root, 'package.json'));
fs.writeFileSync(path.join(dist, 'build.json'), JSON.stringify({ version, builtAt: new Date().toISOString() }));
console.log(`built reference-pulse ${version} into dist/`);
