import net from 'node:net';

/**
 * A TCP proxy in front of the node (node:net, byte for byte): `cut(ms)` drops every open
 * connection and refuses new ones for `ms`, which is what a worker sees when its RPC provider
 * or the network to it goes away; then it forwards again.
 */
export type RpcProxy = { url: string; cut(ms: number): Promise<void>; close(): Promise<void> };

export async function startRpcProxy(targetPort: number): Promise<RpcProxy> {
  const open = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async cut(ms) {
      down = true;
      for (const socket of open) socket.destroy();
      open.clear();
      await new Promise((r) => setTimeout(r, ms));
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
