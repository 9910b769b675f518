// TEST-ONLY stand-in for Pulse (see ../README.md). Never deploy to production.
'use strict';
const crypto = require('crypto');
const http = require('http');
const Redis = require('ioredis');
const { keyMaterial, seal, open, hashId } = require('./crypto');

const env = process.env;
// The build stamp (dist/build.json): /health names the version that runs.
let version = 'unbuilt';
try { ({ version } = require('./build.json')); } catch (error) { /* running from src/ */ }
const log = (message) => console.log(`${new Date().toISOString()} ${message}`);

// Pulse's production checks (NODE_ENV=production), names only in messages.
if (env.NODE_ENV === 'production') {
  const rules = { JWT_SECRET: 32, ENCRYPTION_KEY: 32, ENCRYPTION_SALT: 16, SESSION_SECRET: 32, HASH_SALT: 16,
    WEBHOOK_SECRET: 32 };
  const bad = Object.entries(rules).filter(([name, min]) => !env[name] || env[name].length < min);
  const missing = ['REDIS_HOST', 'REDIS_PORT', 'RABBITMQ_URL'].filter((name) => !env[name]);
  if (bad.length || missing.length) {
    console.error(`refusing to start: ${[...bad.map(([n, m]) => `${n} < ${m} chars`), ...missing.map((n) => `${n} unset`)].join(', ')}`);
    process.exit(1);
  }
}

const { key, hashSalt } = keyMaterial(env, log);
const expiry = parseInt(env.SESSION_EXPIRY || '86400', 10);
const redis = new Redis({
  host: env.REDIS_HOST || '127.0.0.1',
  port: parseInt(env.REDIS_PORT || '6379', 10),
  password: env.REDIS_PASSWORD || undefined,
  db: parseInt(env.REDIS_DB || '0', 10),
  maxRetriesPerRequest: 2,
});
redis.on('error', (error) => log(`redis: ${error.message}`));

// As Pulse: an encrypted value that does not open is logged and deleted.
async function readSession(whatsappId) {
  const sessionId = await redis.get(`whatsapp:${hashId(whatsappId, hashSalt)}`);
  if (!sessionId) return null;
  const stored = await redis.get(`session:${sessionId}`);
  if (!stored) return null;
  try {
    return open(key, stored);
  } catch (error) {
    log(`Decryption failed: ${error.message}; deleting session:${sessionId.slice(0, 4)}..`);
    await redis.del(`session:${sessionId}`);
    return null;
  }
}

async function link(whatsappId) {
  const now = new Date();
  const session = {
    sessionId: crypto.randomBytes(16).toString('hex'),
    whatsappId,
    phoneNumber: `+${whatsappId.split('@')[0]}`,
    isVerified: true,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + expiry * 1000).toISOString(),
    lastActivity: now.toISOString(),
    mfaVerified: false,
    consentGiven: true,
    consentTimestamp: now.toISOString(),
  };
  await redis.multi()
    .set(`session:${session.sessionId}`, seal(key, session), 'EX', expiry)
    .set(`whatsapp:${hashId(whatsappId, hashSalt)}`, session.sessionId, 'EX', expiry)
    .exec();
  return session.sessionId;
}

// A stand-in balance: the same for a user every time, so tests can compare.
const balanceOf = (whatsappId) => (parseInt(hashId(whatsappId, 'balance').slice(0, 6), 16) % 100000) / 100;

function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => { try { resolve(data ? JSON.parse(data) : {}); } catch (e) { reject(e); } });
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  try {
    if (req.method === 'GET' && url.pathname === '/health') {
      await redis.ping();
      return reply(res, 200, { status: 'ok', version, timestamp: new Date().toISOString() });
    }
    if (req.method === 'POST' && url.pathname === '/link') {
      const { whatsappId } = await readBody(req);
      if (!whatsappId) return reply(res, 400, { error: 'whatsappId required' });
      return reply(res, 201, { linked: whatsappId, sessionId: await link(whatsappId) });
    }
    if (req.method === 'GET' && url.pathname === '/balance') {
      const whatsappId = url.searchParams.get('whatsappId');
      const session = whatsappId && await readSession(whatsappId);
      if (!session) return reply(res, 404, { error: 're-link needed' });
      return reply(res, 200, { whatsappId, balance: balanceOf(whatsappId) });
    }
    return reply(res, 404, { error: 'not found' });
  } catch (error) {
    log(`error: ${error.message}`);
    return reply(res, 503, { status: 'error', error: error.message });
  }
});

const port = parseInt(env.PORT || '3000', 10);
server.listen(port, env.BIND_ADDRESS || '127.0.0.1', () => log(`reference-pulse listening on ${port}`));
const stop = () => server.close(() => redis.quit().finally(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
