// TEST-ONLY (see ../README.md). Pulse's storage crypto (contract: key derivation, seal/open, ID hash).
'use strict';
const crypto = require('crypto');

const deriveKey = (key, salt) => crypto.pbkdf2Sync(key, salt, 100000, 32, 'sha256');

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

module.exports = { deriveKey, seal, open, hashId };
