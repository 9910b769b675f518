// pulse-ops (role pulse): look users' sessions up with Pulse's OWN compiled code.
//
//   node pulse-sessions.js create|find|audit [--writable]
//
// Runs with the Node and the env file of the release it checks:
//   PULSE_RELEASE   a built Pulse (dist/, node_modules/), e.g. /opt/pulse/current
//   PULSE_ENV_FILE  the env file Pulse runs with, loaded by Pulse's own ConfigModule
//                   options (configuration, security.config, env.validation)
// The `pulse sessions` command runs it as the pulse user with both set.
//
//   create  reads WhatsApp IDs (one per line) on stdin and links each one with
//           Pulse's SessionService.createSession: the session and its index,
//           sealed and hashed by Pulse's CryptoService.
//   find    reads WhatsApp IDs on stdin and looks each one up with
//           SessionService.getSessionByWhatsappId, exactly as Pulse finds a user.
//   audit   walks every session:* key (SCAN) and opens each with
//           SessionService.getSession, then finds its user again through the
//           index with getSessionByWhatsappId.
//
// Pulse DELETES any value it cannot decrypt. find and audit therefore run
// through a Redis ACL user made for this run alone, which may read and not
// write or delete (unless --writable): a lookup with wrong keys loses nothing.
// Output: one JSON line of counts. No ID, key, value or secret is printed.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const BATCH = 200;

function fail(message) {
  process.stderr.write(`pulse sessions: ${message}\n`);
  process.exit(2);
}

const [action, ...flags] = process.argv.slice(2);
if (!['create', 'find', 'audit'].includes(action) || flags.some((flag) => flag !== '--writable')) {
  fail('usage: pulse sessions create|find|audit [--writable]  (WhatsApp IDs on stdin for create and find)');
}
const readOnly = action !== 'create' && !flags.includes('--writable');
const release = process.env.PULSE_RELEASE;
const envFile = process.env.PULSE_ENV_FILE;
if (!release || !fs.existsSync(path.join(release, 'dist', 'main.js'))) {
  fail(`PULSE_RELEASE (${release || 'unset'}) is not a built Pulse: it needs dist/main.js`);
}
if (!envFile || !fs.existsSync(envFile)) {
  fail(`PULSE_ENV_FILE (${envFile || 'unset'}) does not exist: name the env file Pulse runs with`);
}

// Everything below comes from the release itself: its Nest, its config, its services.
const releaseRequire = createRequire(path.join(release, 'package.json'));
const fromDist = (name) => releaseRequire(path.join(release, 'dist', name));
const { NestFactory } = releaseRequire('@nestjs/core');
const { Module } = releaseRequire('@nestjs/common');
const { ConfigModule } = releaseRequire('@nestjs/config');
const configuration = fromDist('config/configuration').default;
const securityConfig = fromDist('config/security.config').default;
const { validationSchema } = fromDist('config/env.validation');
const { CryptoModule } = fromDist('common/crypto/crypto.module');
const { RedisService } = fromDist('modules/redis/redis.service');
const { SessionService } = fromDist('modules/auth/services/session.service');
const { GroupAuthService } = fromDist('modules/auth/services/group-auth.service');

// Pulse's own ConfigModule options (app.module), reading only the env file given.
// GroupAuthService maps @lid group IDs to real IDs; it is not part of finding a
// linked user by the ID it linked with, and it pulls in the whole bot.
class SessionsModule {}
Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      load: [configuration, securityConfig],
      envFilePath: [envFile],
      validationSchema,
      validationOptions: { abortEarly: false },
    }),
    CryptoModule,
  ],
  providers: [RedisService, SessionService, { provide: GroupAuthService, useValue: null }],
})(SessionsModule);

function readIds() {
  const ids = fs.readFileSync(0, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean);
  const bad = ids.filter((id) => !/^[0-9]{6,20}@(c\.us|lid)$/.test(id)).length;
  if (bad) fail(`${bad} of ${ids.length} lines on stdin are not WhatsApp IDs (<digits>@c.us or <digits>@lid)`);
  return ids;
}

async function inBatches(items, work) {
  const results = [];
  for (let start = 0; start < items.length; start += BATCH) {
    results.push(...(await Promise.all(items.slice(start, start + BATCH).map(work))));
  }
  return results;
}

// An ACL user for this run only: it may read every key and nothing else, so
// Pulse's delete-on-decryption-failure is refused by Redis. Removed at the end.
async function readOnlyUser(client) {
  const name = `pulse-ops-readonly-${crypto.randomBytes(6).toString('hex')}`;
  const password = crypto.randomBytes(24).toString('hex');
  await client.call('ACL', 'SETUSER', name, 'reset', 'on', `>${password}`, '~*', '&*',
    '-@all', '+@read', '+@connection', '-@dangerous');
  return { name, password };
}

async function main() {
  const app = await NestFactory.createApplicationContext(SessionsModule, { logger: false });
  const redisService = app.get(RedisService);
  const sessions = app.get(SessionService);
  const client = redisService.getClient();
  let aclUser = null;
  let admin = null;
  try {
    await client.ping();
    if (readOnly) {
      admin = client.duplicate();
      aclUser = await readOnlyUser(admin);
      // Pulse's client keeps its connection options: log it in as the read-only user,
      // also for any reconnect.
      client.options.username = aclUser.name;
      client.options.password = aclUser.password;
      await client.call('AUTH', aclUser.name, aclUser.password);
    }
    let result;
    if (action === 'create') {
      const ids = readIds();
      const created = await inBatches(ids, (id) => sessions.createSession(id, `+${id.split('@')[0]}`));
      result = { asked: ids.length, created: created.filter((session) => session && session.sessionId).length };
    } else if (action === 'find') {
      const ids = readIds();
      const found = await inBatches(ids, async (id) => {
        const session = await sessions.getSessionByWhatsappId(id);
        return Boolean(session && session.whatsappId === id);
      });
      const count = found.filter(Boolean).length;
      result = { asked: ids.length, found: count, missing: ids.length - count };
    } else {
      const keys = [];
      const stream = (admin || client).scanStream({ match: 'session:*', count: 1000 });
      for await (const batch of stream) keys.push(...batch);
      const checked = await inBatches([...new Set(keys)], async (key) => {
        const session = await sessions.getSession(key.slice('session:'.length));
        if (!session || !session.whatsappId) return 'not_opened';
        const again = await sessions.getSessionByWhatsappId(session.whatsappId);
        return again && again.sessionId === session.sessionId ? 'found' : 'not_indexed';
      });
      const count = (what) => checked.filter((state) => state === what).length;
      result = { sessions: checked.length, found: count('found'), not_indexed: count('not_indexed'),
        not_opened: count('not_opened') };
    }
    process.stdout.write(`${JSON.stringify({ action, read_only: readOnly, ...result })}\n`);
  } finally {
    // Pulse's client first: Redis drops the connections of a user it deletes.
    await app.close();
    if (aclUser) await admin.call('ACL', 'DELUSER', aclUser.name);
    if (admin) admin.disconnect();
  }
}

main().catch((error) => {
  // Pulse's code throws with its own messages; keep them, but never a value.
  fail(`cannot ${action} sessions with Pulse's code: ${error.message}`);
});
