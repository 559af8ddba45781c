// Loaded by the mutation runs of the `stores` and `engine` scopes only (jest `setupFiles`), never
// by `npm test`. Every store save derives a key with Node's scrypt at its default cost (N=16384),
// about 37 ms here: two thirds of the store suites' time, and so of every mutant's. This lowers the
// default cost to N=1024 for calls that give no options. It changes no test's outcome: every key
// in these suites is derived through Node's scrypt on both sides (nothing compares with a file
// written elsewhere), and the derivation itself is crypto-format's, which the `files` scope tests
// at full cost. Checked: the 415 tests of the store suites pass with it, in 15 s instead of 37 s.
'use strict';
const crypto = require('node:crypto');

const MUTATION_RUN_COST = Object.freeze({ N: 1024, r: 8, p: 1 });
const { scrypt, scryptSync } = crypto;

crypto.scrypt = function scryptAtLowCost(password, salt, keylen, options, callback) {
  if (typeof options === 'function') return scrypt.call(this, password, salt, keylen, MUTATION_RUN_COST, options);
  return scrypt.call(this, password, salt, keylen, options, callback);
};
crypto.scryptSync = function scryptSyncAtLowCost(password, salt, keylen, options) {
  return scryptSync.call(this, password, salt, keylen, options ?? MUTATION_RUN_COST);
};
