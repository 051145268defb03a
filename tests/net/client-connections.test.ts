import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientConnections } from '../../src/net/client-connections.js';

/** A real listener on 127.0.0.1 whose accepted sockets go through one ClientConnections. */
async function listener(maxPerClient: number): Promise<{ connections: ClientConnections; refused: () => number; port: number; server: net.Server }> {
  const connections = new ClientConnections(maxPerClient);
  let refused = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    if (!connections.admit(socket)) {
      refused++;
      socket.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return { connections, refused: () => refused, port: address.port, server };
}

const until = async (check: () => boolean): Promise<void> => {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 3 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const clients: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

function connect(port: number): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  clients.push(socket);
  return socket;
}

describe('ClientConnections', () => {
  it('admits up to the per-client cap, refuses beyond, and frees a slot when a connection closes', async () => {
    const { connections, refused, port, server } = await listener(2);
    servers.push(server);
    const first = connect(port);
    connect(port);
    await until(() => connections.sockets.size === 2);
    connect(port);
    await until(() => refused() === 1);
    expect(connections.sockets.size).toBe(2);

    first.destroy();
    await until(() => connections.sockets.size === 1);
    connect(port);
    await until(() => connections.sockets.size === 2);
    expect(refused()).toBe(1);
  });

  it('forgets an address once its last connection closes (the map stays bounded)', async () => {
    const { connections, port, server } = await listener(1);
    servers.push(server);
    for (let round = 0; round < 3; round++) {
      const socket = connect(port);
      await until(() => connections.sockets.size === 1);
      socket.destroy();
      await until(() => connections.sockets.size === 0);
    }
    // With a cap of 1, a leaked count would refuse this one.
    connect(port);
    await until(() => connections.sockets.size === 1);
  });
});
