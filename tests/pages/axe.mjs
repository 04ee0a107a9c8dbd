// Accessibility check of web pages: axe-core (WCAG 2.0/2.1 A and AA rules) in
// Debian's chromium, driven by playwright-core, at a mobile viewport. Every
// request to a host other than 127.0.0.1/localhost is aborted: the pages must
// work offline. For each page writes OUT_DIR/NAME.png (full page) and
// OUT_DIR/NAME.axe.json, and prints `NAME STATUS violations=K` and one line per
// violation. The HTTP status is recorded, not judged (404/400 pages are fine).
// Exit: 0 no violation on any page, 1 some violation, 2 usage error or crash.
// Usage: node axe.mjs OUT_DIR NAME=URL [NAME=URL ...]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const USAGE = 'usage: node axe.mjs OUT_DIR NAME=URL [NAME=URL ...]';
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function usage(msg) {
  if (msg) console.error(msg);
  console.error(USAGE);
  process.exit(2);
}

function parseArgs(argv) {
  const [outDir, ...specs] = argv;
  if (!outDir || specs.length === 0) usage();
  const pages = [];
  const seen = new Set();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) usage(`not NAME=URL: ${spec}`);
    const name = spec.slice(0, eq);
    const url = spec.slice(eq + 1);
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) usage(`bad NAME (use [A-Za-z0-9._-]): ${name}`);
    if (seen.has(name)) usage(`duplicate NAME: ${name}`);
    seen.add(name);
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      usage(`bad URL for ${name}: ${url}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') usage(`not an http(s) URL for ${name}: ${url}`);
    pages.push({ name, url });
  }
  return { outDir, pages };
}

// A node's target: selectors through iframes (outer array) and shadow roots
// (inner arrays).
const formatTarget = (target) =>
  target.map((part) => (Array.isArray(part) ? part.join(' >>> ') : part)).join(' >> ');

async function checkPage(browser, axeSource, outDir, { name, url }) {
  // bypassCSP: the portal's CSP would refuse the injected inline axe script.
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    bypassCSP: true,
    serviceWorkers: 'block',
  });
  const blocked = new Set();
  await context.route('**/*', (route) => {
    const reqUrl = route.request().url();
    let host = '';
    try {
      host = new URL(reqUrl).hostname;
    } catch {
      // Not a parsable URL: treat as foreign.
    }
    if (LOCAL_HOSTS.has(host)) return route.continue();
    blocked.add(reqUrl);
    return route.abort('blockedbyclient');
  });
  try {
    const page = await context.newPage();
    const consoleErrors = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const response = await page.goto(url, { waitUntil: 'load' });
    const status = response ? response.status() : 0;
    await page.addScriptTag({ content: axeSource });
    const results = await page.evaluate(
      (values) => window.axe.run(document, { runOnly: { type: 'tag', values } }),
      TAGS,
    );
    const lang = await page.evaluate(() => document.documentElement.lang);
    const title = await page.title();
    await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
    const report = {
      name,
      url,
      finalUrl: page.url(),
      status,
      lang,
      title,
      viewport: { width: 390, height: 844 },
      tags: TAGS,
      testEngine: results.testEngine,
      testEnvironment: results.testEnvironment,
      violations: results.violations,
      incomplete: results.incomplete.map((r) => ({ id: r.id, impact: r.impact, help: r.help, nodes: r.nodes.length })),
      passes: results.passes.length,
      blockedRequests: [...blocked],
      consoleErrors,
    };
    await writeFile(path.join(outDir, `${name}.axe.json`), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await context.close();
  }
}

async function main() {
  const { outDir, pages } = parseArgs(process.argv.slice(2));
  const require = createRequire(import.meta.url);
  const axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  await mkdir(outDir, { recursive: true });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
  let failed = 0;
  try {
    for (const p of pages) {
      const r = await checkPage(browser, axeSource, outDir, p);
      console.log(`${r.name} ${r.status} violations=${r.violations.length}`);
      for (const v of r.violations) {
        const targets = v.nodes.slice(0, 3).map((n) => formatTarget(n.target));
        const more = v.nodes.length > 3 ? ` (+${v.nodes.length - 3} more)` : '';
        console.log(`  ${v.id} [${v.impact}] ${v.help}: ${targets.join(', ')}${more}`);
      }
      if (r.violations.length) failed += 1;
    }
  } finally {
    await browser.close();
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(2);
  },
);
