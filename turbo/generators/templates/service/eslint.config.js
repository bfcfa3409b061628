module.exports = require('@internal/eslint-config');
