#!/usr/bin/env node
// Runs the CUDA parity cases without jest (GPU machines have no npm) and writes JSON.
// Usage: node test/gpu/run-parity.js [out.json] [--quick] [--budget-s N] [--every K]
//   --quick      skip the largest sizes (for compute-sanitizer runs)
//   --every K    run every K-th case only (a spread sample, for compute-sanitizer)
//   --budget-s N stop starting new cases after N seconds; the rest are reported as not run
//   --match RE   only the cases whose name matches RE
'use strict';
const path = require('path');
const fs = require('fs');
const root = path.join(__dirname, '..', '..');
const b = require(process.env.BITGRAD_DIST || path.join(root, 'dist', 'index.js'));
const { cases } = require('./cases.js');

function flag(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

(async () => {
  const out = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : null;
  const quick = process.argv.includes('--quick');
  const every = Math.max(1, flag('--every', 1));
  const budgetMs = flag('--budget-s', Infinity) * 1000;
  const mi = process.argv.indexOf('--match');
  const match = mi >= 0 ? new RegExp(process.argv[mi + 1]) : null;
  const report = b.backend();
  const results = [];
  let notRun = 0;
  const t0 = Date.now();
  if (report.name !== 'cuda') {
    console.log(`no usable GPU: ${report.reason}`);
  } else {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i];
      if (i % every !== 0) continue;
      if (match && !match.test(c.name)) continue;
      if (quick && /n=(65537|1048579)|\b(16384|131072|8192)\b/.test(c.name)) continue;
      if (Date.now() - t0 > budgetMs) {
        notRun++;
        continue;
      }
      const t = process.hrtime.bigint();
      try {
        await c.fn(b);
        results.push({ name: c.name, ok: true, ms: Number(process.hrtime.bigint() - t) / 1e6 });
      } catch (e) {
        results.push({ name: c.name, ok: false, error: `${e.code || ''} ${e.message}` });
      }
      const last = results[results.length - 1];
      console.log(`${last.ok ? 'PASS' : 'FAIL'} ${c.name}${last.ok ? '' : `: ${last.error}`}`);
    }
  }
  const summary = {
    backend: report,
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    notRun,
    results,
  };
  if (out) fs.writeFileSync(out, JSON.stringify(summary, null, 2));
  if (notRun) console.log(`${notRun} cases not run: time budget reached`);
  console.log(`${summary.passed} passed, ${summary.failed} failed`);
  process.exitCode = report.name === 'cuda' && summary.failed === 0 ? 0 : 1;
})();
