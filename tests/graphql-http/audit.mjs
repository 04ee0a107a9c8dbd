// GraphQL over HTTP conformance: graphql-http's auditServer against a running
// portal, a bearer token added to every request. Fails on any failed MUST.
// Usage: node audit.mjs URL TOKEN
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs URL TOKEN');
  process.exit(2);
}
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
let failed = 0;
for (const r of results) {
  const level = r.name.split(' ')[0];
  if (r.status === 'ok') continue;
  if (level === 'MUST' && r.status === 'error') failed += 1;
  console.log(`${r.status === 'error' && level === 'MUST' ? 'FAIL' : r.status} ${r.name}${r.reason ? `: ${r.reason}` : ''}`);
}
console.log(`${results.length} checks, ${failed} failed MUST`);
process.exit(failed ? 1 : 0);
