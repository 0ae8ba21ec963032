// Run by `npm install` (postinstall): patches postgres.js (3.4.9, also 3.4.10) so that a Postgres
// restart cannot crash the process. Upstream: porsager/postgres#1208 (fix proposed in #1209, not
// released) and #1192 (below). Idempotent, edit by edit; fails the install if the code it patches
// has changed, so an upgrade is looked at instead of silently losing the fix.
//
// The crash: a transaction (sql.begin, drizzle's transaction) or a reserved connection whose
// server went away is still written to: begin() sends ROLLBACK on it after the query that failed,
// a reserved connection's holder sends its next query. The write is queued with setImmediate,
// and by then closed() has set the socket to null: `socket.write` throws a TypeError in a timer,
// where no caller can catch it, and the process exits. Seen in the chaos run's Postgres restart.
//
// The fix: a write that finds no socket rejects the queries it carried (CONNECTION_CLOSED, which
// the callers already handle) instead of throwing; and closed() drops bytes it did not send, so
// they never prefix the next connection's startup message.
//
// And porsager/postgres#1192 (also #1205, #1223; open): every new connection first reads the
// array types (fetch_types), from ReadyForQuery, which drops that query's promise. A connection
// reset while it runs (a Postgres restart just after the connection came up) rejects it with no
// handler, and Node ends the process on the unhandled rejection (`read ECONNRESET`, seen once in
// CI's postgres-restart.test.ts). The failure is the connection's, and is handled as such
// (closed() reconnects and replays the waiting query); the types come again with the next
// connection, and those of earlier connections are shared. So the dropped promise gets a handler.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MARK = 'agent-mint patch (porsager/postgres#1208)';

const edits = [
  {
    from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    to: `  function nextWrite(fn) {
    if (socket === null) { // ${MARK}: the connection closed since this write was queued
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      const err = Errors.connection('CONNECTION_CLOSED', options)
      query && queryError(query, err)
      while (sent.length)
        queryError(sent.shift(), err)
      return false
    }
    const x = socket.write(chunk, fn)`,
  },
  {
    from: `    incomings = null
    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)`,
    to: `    incomings = null
    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null // ${MARK}: unsent bytes belong to the closed connection
    socket.removeListener('data', data)`,
  },
  {
    from: `        return fetchArrayTypes()
`,
    to: `        return fetchArrayTypes().catch(() => {}) // agent-mint patch (porsager/postgres#1192): the connection's own failure
`,
  },
];

const root = path.resolve(import.meta.dirname, '..', 'node_modules', 'postgres');
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
let patched = 0;
for (const build of ['src', 'cjs/src', 'cf/src']) {
  const file = path.join(root, build, 'connection.js');
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // a build this version does not ship
  }
  const before = text;
  for (const { from, to } of edits) {
    if (text.includes(to)) continue;
    if (!text.includes(from)) {
      console.error(
        `[agent-mint] postgres ${version}: ${build}/connection.js is not what scripts/patch-postgres.mjs patches; ` +
          'check whether porsager/postgres#1208 and #1192 are fixed in this version and update or remove the patch.',
      );
      process.exit(1);
    }
    text = text.replace(from, to);
  }
  if (text === before) continue;
  // A new file, not a write into the old one: node_modules may be hard-linked with other checkouts.
  writeFileSync(`${file}.patched`, text);
  renameSync(`${file}.patched`, file);
  patched++;
}
if (patched)
  console.log(`[agent-mint] postgres ${version}: patched ${patched} build(s) (porsager/postgres#1208, #1192)`);
