// Every CUDA-vs-CPU parity case, in one list for test/cuda.test.ts and run-parity.js.
// Each op family keeps its cases in its own file and is added here with one line.
'use strict';
module.exports = {
  cases: [
    ...require('./parity.js').cases,
    ...require('./parity-pack.js').cases,
    ...require('./parity-fused.js').cases,
    ...require('./parity-estimators.js').cases,
    ...require('./parity-scaling.js').cases,
    ...require('./parity-ce.js').cases,
    ...require('./parity-class-loss.js').cases,
    ...require('./parity-losses.js').cases,
    ...require('./parity-rowwise.js').cases,
    ...require('./parity-xnor.js').cases,
    ...require('./parity-xnor-mma.js').cases,
    ...require('./parity-xnor-train.js').cases,
    ...require('./parity-xnor-conv-train.js').cases,
    ...require('./parity-research.js').cases,
    ...require('./lifetimes.js').cases,
  ],
};
