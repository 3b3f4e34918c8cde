#!/usr/bin/env node
// Runs the CUDA parity cases without jest (GPU machines have no npm) and writes JSON.
// Usage: node test/gpu/run-parity.js [out.json] [--quick]
'use strict';
const path = require('path');
const fs = require('fs');
const root = path.join(__dirname, '..', '..');
const b = require(process.env.BITGRAD_DIST || path.join(root, 'dist', 'index.js'));
const { cases } = require('./cases.js');

(async () => {
  const out = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : null;
  const quick = process.argv.includes('--quick');
  const report = b.backend();
  const results = [];
  if (report.name !== 'cuda') {
    console.log(`no usable GPU: ${report.reason}`);
  } else {
    for (const c of cases) {
      if (quick && /n=(65537|1048579)/.test(c.name)) continue;
      const t0 = process.hrtime.bigint();
      try {
        await c.fn(b);
        results.push({ name: c.name, ok: true, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      } catch (e) {
        results.push({ name: c.name, ok: false, error: `${e.code || ''} ${e.message}` });
      }
      const last = results[results.length - 1];
      console.log(`${last.ok ? 'PASS' : 'FAIL'} ${c.name}${last.ok ? '' : `: ${last.error}`}`);
    }
  }
  const summary = { backend: report, passed: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, results };
  if (out) fs.writeFileSync(out, JSON.stringify(summary, null, 2));
  console.log(`${summary.passed} passed, ${summary.failed} failed`);
  process.exitCode = report.name === 'cuda' && summary.failed === 0 ? 0 : 1;
})();
