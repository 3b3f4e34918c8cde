// Every CUDA-vs-CPU parity case, in one list for test/cuda.test.ts and run-parity.js.
// Each op family keeps its cases in its own file and is added here with one line.
'use strict';
module.exports = {
  cases: [
    ...require('./parity.js').cases,
  ],
};
