// pulse-ops (role pulse): check Pulse's settings with the release's OWN compiled
// validation (dist/config/env.validation.js, Joi), on the controller, before any
// host changes. Pulse runs the same schema at start and exits 1 on any error.
//
//   node pulse-env-check.js <release dir>  < settings as a JSON object
//
// Prints a JSON list of problems (empty when Pulse would accept the settings).
// Joi's messages name the setting and the rule; any setting's value that still
// appears in one is masked, so no secret is ever printed.
'use strict';

const fs = require('fs');
const path = require('path');

const release = process.argv[2];
const settings = JSON.parse(fs.readFileSync(0, 'utf8'));
const { validationSchema } = require(path.join(release, 'dist', 'config', 'env.validation'));
const { error } = validationSchema.validate(settings, { abortEarly: false });
const values = Object.values(settings).map(String).filter((value) => value.length >= 4);
const mask = (message) => values.reduce((text, value) => text.split(value).join('<value>'), message);
process.stdout.write(`${JSON.stringify(error ? error.details.map((detail) => mask(detail.message)) : [])}\n`);
