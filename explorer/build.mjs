#!/usr/bin/env node
// Bundles the explorer for the browser: src/main.js (and the modules it loads on demand) into
// dist/app.js plus dist/chunks/, minified, with index.html and style.css copied beside it.
// Prints the size of each file written.
//
// node build.mjs [--dev] [--if-stale]
//   --dev       not minified, with source maps
//   --if-stale  does nothing when dist/app.js is newer than every source (src/, build.mjs,
//               package-lock.json and the shared ../scripts/codec.mjs)
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const dev = process.argv.includes('--dev');

/** The newest modification time among `paths` (files or folders, searched recursively). */
function newest(paths) {
  return Math.max(...paths.map((path) => {
    const stat = statSync(path);
    if (!stat.isDirectory()) return stat.mtimeMs;
    return newest(readdirSync(path).map((name) => join(path, name)));
  }));
}

if (process.argv.includes('--if-stale')) {
  const sources = ['src', 'build.mjs', 'package-lock.json', '../scripts/codec.mjs'].map((path) => join(root, path));
  let built = 0;
  try {
    built = statSync(join(dist, 'app.js')).mtimeMs;
  } catch {
    // Not built yet.
  }
  if (built > newest(sources)) {
    console.log('dist/ is up to date');
    process.exit(0);
  }
}

// Empties dist/ rather than removing it, so a server already serving it keeps working.
mkdirSync(dist, { recursive: true });
for (const entry of readdirSync(dist)) rmSync(join(dist, entry), { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: { app: 'src/main.js' },
  outdir: dist,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
  minify: !dev,
  sourcemap: dev,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) copyFileSync(join(root, 'src', file), join(dist, file));

/** Every file under `dir`, with its size. */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : [[relative(dist, path), statSync(path).size]];
  });
}
const written = files(dist);
for (const [path, size] of written) console.log(`${(size / 1024).toFixed(1).padStart(9)} KiB  dist/${path}`);
console.log(`${(written.reduce((sum, [, size]) => sum + size, 0) / 1024).toFixed(1).padStart(9)} KiB  in all`);
