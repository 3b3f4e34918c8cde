#!/usr/bin/env node
/**
 * The `bitgrad` command. `bitgrad info [--json]` prints the backend report.
 * @packageDocumentation
 */
import { BitgradError } from './errors';
import { backend } from './index';
import type { BackendReport } from './loader';

function human(r: BackendReport): string {
  const lines = [
    `bitgrad ${r.version}`,
    `backend:   ${r.name} — ${r.reason}`,
    `requested: ${r.requested}${r.requireGpu ? ' (GPU required)' : ''}`,
    `binary:    ${r.binary}`,
    `node-api:  binary ${r.napiVersion}, node ${r.nodeNapiVersion} (${process.version})`,
    `cuda:      ${r.cuda.compiled ? `compiled for sm_${r.cuda.compiledArchs.join(', sm_')} + PTX ${r.cuda.ptxArch}` : 'not compiled in'}`,
  ];
  if (r.cuda.compiled) {
    lines.push(`           driver ${r.cuda.driverVersion || 'none'}, runtime ${r.cuda.runtimeVersion}; probe: ${r.cuda.reason}`);
    for (const d of r.cuda.devices)
      lines.push(`           cuda:${d.index} ${d.name} sm_${d.computeCapability.replace('.', '')} ${(d.totalBytes / 2 ** 30).toFixed(1)} GiB${d.archCompatible ? '' : ' (unsupported arch)'}`);
  }
  lines.push(`cpu:       ${r.cpu.simd} (${r.cpu.simdReason}), ${r.cpu.threads} thread(s)`);
  return lines.join('\n');
}

function main(argv: string[]): number {
  const [cmd = 'info', ...rest] = argv;
  if (cmd === 'info') {
    try {
      const r = backend();
      process.stdout.write(rest.includes('--json') ? JSON.stringify(r, null, 2) + '\n' : human(r) + '\n');
      return 0;
    } catch (e) {
      const code = e instanceof BitgradError ? e.code : 'ERROR';
      if (rest.includes('--json')) process.stdout.write(JSON.stringify({ error: { code, message: (e as Error).message } }, null, 2) + '\n');
      else process.stderr.write(`bitgrad: ${code}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  process.stderr.write('usage: bitgrad info [--json]\n');
  return 2;
}

process.exitCode = main(process.argv.slice(2));
