// The import rules `npm test` checks (its `imports` suite: depcruise over the whole tree), so the
// layering STYLE.md describes stays a tool's habit: route or worker → lib → db and lib/chain, one
// way. Type-only imports count (tsPreCompilationDeps): a cycle closed by a type is still a cycle
// a reader has to untangle.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'Modules that import each other, directly or around a loop (type imports included).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-not-into-worker-or-app',
      comment: 'lib/ is the domain the web app and the worker share; it never reaches back into either.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(worker|app)/' },
    },
    {
      name: 'db-not-into-lib',
      comment: 'db/ holds queries by aggregate; the domain uses it, never the other way.',
      severity: 'error',
      from: { path: '^db/' },
      to: { path: '^lib/' },
    },
    {
      name: 'worker-not-into-app',
      comment: 'The worker never imports from the web app (route handlers and pages).',
      severity: 'error',
      from: { path: '^worker/' },
      to: { path: '^app/' },
    },
    {
      name: 'bench-takes-test-support-only',
      comment: 'Benchmarks share the test helpers in test/support, not one test folder or another.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/', pathNot: '^test/support/' },
    },
    {
      name: 'no-native-addon-in-the-web-app',
      comment: 'The secp256k1 addon and hash-wasm are for the worker; the web bundle must not reach them.',
      severity: 'error',
      from: { path: '^(app|components|lib/web)/' },
      to: { path: '^lib/chain/native-crypto[.]ts$', reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|[.]next[^/]*|[.]data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    cache: { folder: 'node_modules/.cache/dependency-cruiser', strategy: 'content' },
  },
};
