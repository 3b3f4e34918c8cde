/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  testTimeout: 60000,
  // Native code is process-wide; one worker keeps the 2-core CI machine responsive.
  maxWorkers: 1,
};
