#!/usr/bin/env node
// Builds the browser apps: web/src/*/main.ts → web/dist/*.js (minified, ES2019 for iOS 13+).
// Prints each bundle's gzipped size and fails when the patient page's JavaScript would be
// over budget (SPEC §6: at most 100 KB gzipped; we aim far lower).
//
// The patient page's script comes in two parts: patient.js (inline in the page: the first
// screen) and patient-later.js (fetched once that screen is on: media, signalling, device
// test, chat, rating; web/src/patient/later.ts). The modules both use are bundled only into
// patient.js and handed to the second part at run time (window.spkShared, see SHARED).
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
/** The first screen's part (inline in the page, before "Start bezoek"). */
const PATIENT_FIRST_AIM = 20 * 1024;

/** Modules of patient.js that patient-later.js uses from it (window.spkShared.<name>), not bundled twice. */
const SHARED = ['dom', 'i18n', 'time', 'platform'];
const sharedDir = join(here, 'src', 'lib');

/** esbuild plugin: an import of a SHARED module becomes `window.spkShared.<name>`. */
const fromFirstScript = {
  name: 'from-first-script',
  setup(b) {
    b.onResolve({ filter: new RegExp(`/(${SHARED.join('|')})\\.js$`) }, (args) => {
      const name = args.path.replace(/^.*\//, '').replace(/\.js$/, '');
      if (join(args.resolveDir, args.path) !== join(sharedDir, `${name}.js`)) return undefined;
      return { path: name, namespace: 'spk-shared' };
    });
    b.onLoad({ filter: /.*/, namespace: 'spk-shared' }, (args) => ({
      contents: `module.exports = window.spkShared[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};

/** Output name → entry point. */
const entries = {
  patient: 'src/patient/main.ts',
  walkin: 'src/patient/walk-in.ts',
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
  // The staff pages' views (*.tsx) are Preact; the patient's page has none.
  jsx: 'automatic',
  jsxImportSource: 'preact',
};

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// Running it only defines window.spkLaterFactory: the page may receive it before or after its
// first part has run, and calls the factory when it has set window.spkShared.
const laterOptions = {
  ...options,
  entryPoints: { 'patient-later': join(here, 'src/patient/later.ts') },
  globalName: 'spkLater',
  banner: { js: 'window.spkLaterFactory = function () {' },
  footer: { js: 'return spkLater;\n};' },
  plugins: [fromFirstScript],
};

/** Sizes of the built files; returns false when the patient bundle is over budget. */
function report() {
  let ok = true;
  const files = [...Object.keys(entries).map((n) => join(dist, `${n}.js`)), join(dist, 'patient-later.js'), join(here, 'public', 'app.css')];
  let patientTotal = 0;
  for (const file of files) {
    if (!existsSync(file)) {
      console.error(`missing: ${relative(here, file)}`);
      ok = false;
      continue;
    }
    const raw = readFileSync(file);
    const gz = gzipSync(raw, { level: 9 }).length;
    let note = '';
    if (file.endsWith('patient.js') && gz > PATIENT_FIRST_AIM) note = `  above the first screen's ${kb(PATIENT_FIRST_AIM)} aim`;
    if (/patient(-later)?\.js$/.test(file)) patientTotal += gz;
    console.log(`${relative(here, file).padEnd(24)} ${kb(raw.length).padStart(9)}  ${kb(gz).padStart(8)} gzipped${note}`);
  }
  const over = patientTotal > PATIENT_LIMIT;
  if (over) ok = false;
  console.log(`${'patient, both parts'.padEnd(24)} ${''.padStart(9)}  ${kb(patientTotal).padStart(8)} gzipped${over ? `  OVER BUDGET (limit ${kb(PATIENT_LIMIT)})` : ''}`);
  return ok;
}

mkdirSync(dist, { recursive: true });
if (!existsSync(join(here, 'public', 'app.css'))) {
  console.error('web/public/app.css is missing');
  process.exit(1);
}

if (watch) {
  const later = await context(laterOptions);
  await later.watch();
  const first = await context({
    ...options,
    plugins: [{ name: 'report', setup: (b) => b.onEnd((r) => r.errors.length === 0 && report()) }],
  });
  await first.watch();
  console.log('watching web/src …');
} else {
  try {
    await build(laterOptions);
    await build(options);
  } catch {
    process.exit(1); // esbuild has printed the errors
  }
  if (!report()) process.exit(1);
}
