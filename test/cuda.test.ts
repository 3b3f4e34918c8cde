// CUDA-vs-CPU parity (test/gpu/parity.js). Without a usable GPU every case is
// skipped, visibly: jest counts them and one line says why.
import * as bitgrad from '../lib';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { cases } = require('./gpu/cases.js') as { cases: Array<{ name: string; fn: (b: typeof bitgrad) => Promise<void> }> };
const report = bitgrad.backend();
const gpu = report.name === 'cuda';

if (!gpu) {
  // eslint-disable-next-line no-console
  console.log(`CUDA parity: ${cases.length} tests skipped (${report.reason})`);
}

describe('CUDA vs CPU parity', () => {
  for (const c of cases) (gpu ? test : test.skip)(c.name, () => c.fn(bitgrad), 120000);
});
