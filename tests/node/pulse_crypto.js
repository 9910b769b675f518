// TEST-ONLY: Pulse's storage crypto written with Node's own crypto module,
// straight from the contract, so tests can prove module_utils/pulse_crypto.py
// agrees with what Node produces and accepts. Not part of any deployment.
//
//   node pulse_crypto.js '<json request>'   ->  prints the answer as JSON
//   {"op": "derive", "key": "...", "salt": "..."}          -> {"key": "<hex>"}
//   {"op": "seal", "key": "...", "salt": "...", "value": x} -> {"stored": "<base64>"}
//   {"op": "open", "key": "...", "salt": "...", "stored": s} -> {"value": x} | {"error": "..."}
//   {"op": "hash", "id": "...", "hashSalt": "..."}          -> {"hash": "<hex>"}
'use strict';
const crypto = require('crypto');

const derive = (key, salt) => crypto.pbkdf2Sync(key, salt, 100000, 32, 'sha256');

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
  try {
    const text = Buffer.concat([decipher.update(raw.subarray(32)), decipher.final()]).toString('utf8');
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `Decryption failed: ${error.message}` };
  }
}

const request = JSON.parse(process.argv[2]);
const answers = {
  derive: () => ({ key: derive(request.key, request.salt).toString('hex') }),
  seal: () => ({ stored: seal(derive(request.key, request.salt), request.value) }),
  open: () => open(derive(request.key, request.salt), request.stored),
  hash: () => ({ hash: crypto.createHash('sha256').update(request.id + request.hashSalt, 'utf8').digest('hex') }),
};
process.stdout.write(JSON.stringify(answers[request.op]()));
