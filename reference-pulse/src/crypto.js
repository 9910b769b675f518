// TEST-ONLY. Pulse's storage crypto (contract: key derivation, seal/open, ID hash).
'use strict';
const crypto = require('crypto');

const DEFAULT_KEY = 'pulse-default-encryption-key-32-chars-minimum!!';
const DEFAULT_SALT = 'flash-connect-salt-default-16chr';
const DEFAULT_HASH_SALT = 'pulse-hash-salt-default-value';

const deriveKey = (key, salt) => crypto.pbkdf2Sync(key, salt, 100000, 32, 'sha256');

function keyMaterial(env, log) {
  let key = env.ENCRYPTION_KEY;
  if (!key || key.length < 32) {
    log('WARN ENCRYPTION_KEY unset or shorter than 32 characters: using the built-in default key');
    key = DEFAULT_KEY;
  }
  const salt = env.ENCRYPTION_SALT || DEFAULT_SALT;
  const hashSalt = env.HASH_SALT || DEFAULT_HASH_SALT;
  return { key: deriveKey(key, salt), hashSalt };
}

function seal(key, value) {
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

function open(key, stored) {
  const raw = Buffer.from(stored, 'base64');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 16));
  decipher.setAuthTag(raw.subarray(16, 32));
  return JSON.parse(Buffer.concat([decipher.update(raw.subarray(32)), decipher.final()]).toString('utf8'));
}

const hashId = (id, hashSalt) => crypto.createHash('sha256').update(id + hashSalt, 'utf8').digest('hex');

module.exports = { deriveKey, keyMaterial, seal, open, hashId };
