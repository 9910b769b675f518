// TEST-ONLY command-line face of reference-pulse's crypto (Node's own crypto
// module, written from the contract), so the Python tests can prove that
// module_utils/pulse_crypto.py and the reference app agree byte for byte.
//
//   node pulse_crypto.js '<json request>'   ->  prints the answer as JSON
//   {"op": "derive", "key": "...", "salt": "..."}          -> {"key": "<hex>"}
//   {"op": "seal", "key": "...", "salt": "...", "value": x} -> {"stored": "<base64>"}
//   {"op": "open", "key": "...", "salt": "...", "stored": s} -> {"value": x} | {"error": "Decryption failed: ..."}
//   {"op": "hash", "id": "...", "hashSalt": "..."}          -> {"hash": "<hex>"}
'use strict';
const { deriveKey, seal, open, hashId } = require('../../reference-pulse/src/crypto');

function tryOpen(key, stored) {
  try {
    return { value: open(key, stored) };
  } catch (error) {
    return { error: `Decryption failed: ${error.message}` };
  }
}

const request = JSON.parse(process.argv[2]);
const answers = {
  derive: () => ({ key: deriveKey(request.key, request.salt).toString('hex') }),
  seal: () => ({ stored: seal(deriveKey(request.key, request.salt), request.value) }),
  open: () => tryOpen(deriveKey(request.key, request.salt), request.stored),
  hash: () => ({ hash: hashId(request.id, request.hashSalt) }),
};
process.stdout.write(JSON.stringify(answers[request.op]()));
