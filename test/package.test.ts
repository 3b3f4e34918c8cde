// Packaging: `npm pack`, install the tarball into a fresh project with npm's default
// policy (dependency install scripts blocked), then require('bitgrad') must load from
// the prebuild inside the tarball, report its backend and compute a BCE.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);

function hasPrebuild(): boolean {
  return fs.existsSync(prebuildDir) && fs.readdirSync(prebuildDir).some((f) => f.endsWith('.node'));
}

test(
  'the packed tarball installs without scripts and works from its prebuild',
  () => {
    if (!hasPrebuild()) {
      // A fresh clone has no prebuild yet: make one (as `npm run prebuild` does).
      execFileSync('npm', ['run', 'prebuild'], { cwd: root, stdio: 'inherit' });
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bitgrad-pack-'));
    try {
      const packed = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
      const info = JSON.parse(packed)[0];
      const files: string[] = info.files.map((f: { path: string }) => f.path);
      expect(files).toContain('dist/index.js');
      expect(files).toContain('dist/index.d.ts');
      expect(files.some((f) => f.startsWith(`prebuilds/${process.platform}-${process.arch}/`) && f.endsWith('.node'))).toBe(true);
      expect(files.some((f) => f.startsWith('test/'))).toBe(false);
      const tarball = path.join(work, info.filename);

      const app = path.join(work, 'app');
      fs.mkdirSync(app);
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
      // npm's defaults: no --foreground-scripts, no allow-scripts; bitgrad's install
      // script must not be needed.
      const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
        cwd: app,
        encoding: 'utf8',
        env: { ...process.env, npm_config_allow_scripts: '' },
      });
      if (install.status !== 0) throw new Error(`npm install failed:\n${install.stdout}\n${install.stderr}`);
      expect(fs.existsSync(path.join(app, 'node_modules', 'bitgrad', 'build-cmake'))).toBe(false);

      const script = `
        const b = require('bitgrad');
        const r = b.backend();
        const out = b.losses.bceWithLogitsSync(Float32Array.of(1.5, -0.5, 3, -2), Float32Array.of(1, 0, 0.5, 1),
          { weight: Float32Array.of(1, 1, 1, 0.5), posWeight: 2, reduction: 'sum' });
        console.log(JSON.stringify({ name: r.name, reason: r.reason, binary: r.binary, loss: out.loss }));`;
      const run = spawnSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8', env: { ...process.env, BITGRAD_BINARY: '' } });
      if (run.status !== 0) throw new Error(`require('bitgrad') failed:\n${run.stderr}`);
      const res = JSON.parse(run.stdout.trim().split('\n').pop()!);
      expect(res.binary).toContain(path.join('node_modules', 'bitgrad', 'prebuilds'));
      expect(['cpu', 'cuda']).toContain(res.name);
      expect(res.reason.length).toBeGreaterThan(5);
      expect(Math.abs(res.loss - 4.5767125785)).toBeLessThan(1e-5);

      const cli = spawnSync(path.join(app, 'node_modules', '.bin', 'bitgrad'), ['info', '--json'], { cwd: app, encoding: 'utf8' });
      expect(cli.status).toBe(0);
      expect(JSON.parse(cli.stdout).name).toBe(res.name);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  },
  20 * 60 * 1000,
);
