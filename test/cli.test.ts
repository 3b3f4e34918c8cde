// The `bitgrad info` command (the README's main job until the demo exists).
import { spawnSync } from 'child_process';
import * as path from 'path';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');

test('bitgrad info prints the backend and why', () => {
  const r = spawnSync(process.execPath, [cli, 'info'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^backend: +(cpu|cuda) — /m);
  expect(r.stdout).toMatch(/^cpu: +(scalar|avx2|avx512)/m);
});

test('bitgrad info --json is the backend report', () => {
  const r = spawnSync(process.execPath, [cli, 'info', '--json'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(['cpu', 'cuda']).toContain(j.name);
  expect(typeof j.reason).toBe('string');
  expect(Array.isArray(j.attempts)).toBe(true);
});

test('strict mode failure exits 1 with the code', () => {
  const r = spawnSync(process.execPath, [cli, 'info'], { encoding: 'utf8', env: { ...process.env, BITGRAD_BACKEND: 'tpu' } });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/BITGRAD_INVALID_ENV/);
});

test('unknown command prints usage', () => {
  const r = spawnSync(process.execPath, [cli, 'frobnicate'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/usage/);
});
