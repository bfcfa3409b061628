module.exports = require('@internal/test-kit/dist/jest-config').jestConfig(__dirname);
