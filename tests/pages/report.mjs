// Submits a unit page's report form in Debian's chromium (playwright-core), as
// a person would: opens URL at a phone's size, clicks the button whose value
// is KIND, and prints `STATUS TEXT-OF-H1` of the page the form leads to.
// Every request to a host other than 127.0.0.1/localhost is aborted.
// Exit: 0 printed, 2 usage error or crash.
// Usage: node report.mjs URL stolen|found
import { chromium } from 'playwright-core';

const [url, kind] = process.argv.slice(2);
if (!url || !['stolen', 'found'].includes(kind)) {
  console.error('usage: node report.mjs URL stolen|found');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'load' });
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click(`button[name="kind"][value="${kind}"]`),
  ]);
  const heading = (await page.textContent('h1')) ?? '';
  console.log(`${response ? response.status() : 0} ${heading.trim()}`);
} catch (err) {
  console.error(err && err.stack ? err.stack : err);
  process.exit(2);
} finally {
  await browser.close();
}
