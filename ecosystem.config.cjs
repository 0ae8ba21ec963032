// PM2 for operators who use it: `pm2 start ecosystem.config.cjs` (after `npm run build`).
// The web app and the mint worker share one .env; any number of worker instances may run
// against one database (WORKER_INSTANCES, default 1): tasks are claimed with leases, so they
// never run twice. Workers drain on SIGINT (finish the batch in flight, release leases),
// so kill_timeout must exceed one batch's receipt wait (RECEIPT_TIMEOUT_MS, 60 s by default).

const instances = Number(process.env.WORKER_INSTANCES || 1);

module.exports = {
  apps: [
    {
      name: 'agent-mint-web',
      script: 'node_modules/next/dist/bin/next',
      args: 'start',
      exec_mode: 'fork',
      instances: 1,
      autorestart: true,
      env: { NODE_ENV: 'production' },
      out_file: './logs/web-out.log',
      error_file: './logs/web-error.log',
    },
    {
      name: 'agent-mint-worker',
      script: 'worker/index.ts',
      interpreter: 'node',
      interpreter_args: '--import tsx',
      exec_mode: 'fork',
      instances,
      autorestart: true,
      kill_timeout: 70_000,
      // JSON lines for log shippers; `LOG_FORMAT=pretty` gives the seed's boxes and progress bars.
      env: { NODE_ENV: 'production', LOG_FORMAT: 'json' },
      out_file: './logs/worker-out.log',
      error_file: './logs/worker-error.log',
      merge_logs: true,
    },
  ],
};
