#!/usr/bin/env node
// Builds the browser apps: web/src/*/main.ts → web/dist/*.js (minified, ES2019 for iOS 13+).
// Prints each bundle's gzipped size and fails when the patient page's JavaScript would be
// over budget (SPEC §6: at most 100 KB gzipped; we aim far lower).
//
//   node web/build.mjs            production build
//   node web/build.mjs --dev      with sourcemaps, not minified
//   node web/build.mjs --watch    rebuild on change (implies --dev)
import { context, build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const watch = process.argv.includes('--watch');
const dev = watch || process.argv.includes('--dev');

const PATIENT_LIMIT = 100 * 1024;
const PATIENT_AIM = 25 * 1024;

/** Output name → entry point. */
const entries = {
  patient: 'src/patient/main.ts',
  staff: 'src/staff/main.ts',
  login: 'src/staff/login.ts',
  dashboard: 'src/dashboard/main.ts',
  admin: 'src/admin/main.ts',
  reports: 'src/reports/main.ts',
};

const options = {
  absWorkingDir: here,
  entryPoints: Object.fromEntries(Object.entries(entries).map(([name, src]) => [name, join(here, src)])),
  outdir: dist,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  // ES2019 syntax runs on iOS 13+ Safari. (esbuild's safari13 target refuses all destructuring
  // over an edge-case engine bug we do not hit.)
  target: 'es2019',
  minify: !dev,
  sourcemap: dev ? 'linked' : false,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  metafile: true,
  define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
};

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

/** Sizes of the built files; returns false when the patient bundle is over budget. */
function report() {
  let ok = true;
  const files = [...Object.keys(entries).map((n) => join(dist, `${n}.js`)), join(here, 'public', 'app.css')];
  for (const file of files) {
    if (!existsSync(file)) {
      console.error(`missing: ${relative(here, file)}`);
      ok = false;
      continue;
    }
    const raw = readFileSync(file);
    const gz = gzipSync(raw, { level: 9 }).length;
    let note = '';
    if (file.endsWith('patient.js')) {
      if (gz > PATIENT_LIMIT) {
        note = `  OVER BUDGET (limit ${kb(PATIENT_LIMIT)} gzipped)`;
        ok = false;
      } else if (gz > PATIENT_AIM) {
        note = `  above the ${kb(PATIENT_AIM)} aim`;
      }
    }
    console.log(`${relative(here, file).padEnd(18)} ${kb(raw.length).padStart(9)}  ${kb(gz).padStart(8)} gzipped${note}`);
  }
  return ok;
}

mkdirSync(dist, { recursive: true });
if (!existsSync(join(here, 'public', 'app.css'))) {
  console.error('web/public/app.css is missing');
  process.exit(1);
}

if (watch) {
  const ctx = await context({
    ...options,
    plugins: [{ name: 'report', setup: (b) => b.onEnd((r) => r.errors.length === 0 && report()) }],
  });
  await ctx.watch();
  console.log('watching web/src …');
} else {
  try {
    await build(options);
  } catch {
    process.exit(1); // esbuild has printed the errors
  }
  if (!report()) process.exit(1);
}
