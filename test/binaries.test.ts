// Every binary built in this checkout (cmake-js CPU and CUDA variants, the
// binding.gyp source build, the prebuild) loads on its own and computes the spec vector.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { candidates } from '../lib/loader';

const dist = path.join(__dirname, '..', 'dist', 'index.js');
const binaries = candidates('auto');

test('at least one binary was built', () => {
  expect(binaries.length).toBeGreaterThan(0);
});

test.each(binaries.map((b) => [path.relative(path.join(__dirname, '..'), b), b]))('%s', (_rel, bin) => {
  const script = `
    const b = require(${JSON.stringify(dist)});
    const r = b.backend();
    const out = b.losses.bceWithLogitsSync(Float32Array.of(1.5, -0.5, 3, -2), Float32Array.of(1, 0, 0.5, 1),
      { weight: Float32Array.of(1, 1, 1, 0.5), posWeight: 2, reduction: 'none' });
    console.log(JSON.stringify({ binary: r.binary, name: r.name, cuda: r.cuda.compiled, loss: Array.from(out.loss) }));`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, BITGRAD_BINARY: bin } });
  if (run.status !== 0) throw new Error(run.stderr);
  const res = JSON.parse(run.stdout.trim());
  expect(res.binary).toBe(bin);
  expect(res.cuda).toBe(/cuda/i.test(path.basename(bin)));
  const want = [0.402826556, 0.4740769842, 1.5728810274, 2.126928011];
  res.loss.forEach((v: number, i: number) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
});
