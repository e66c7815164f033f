import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

// On close, also closes every connection that has not sent a byte yet. Node's server.close() closes
// idle kept-alive connections, but counts one that has sent nothing as busy (so that its headers timeout
// can reap it) and stops that reaper (nodejs/node#63452): a client that opens a connection ahead of its
// next request (undici does after an aborted watch; browsers preconnect) held `trex serve` until
// --http-write-timeout (30 s), past the shutdown timeout. Such a connection carries no request, so
// closing it loses nothing. Call before the server listens.
export function closeUnusedConnectionsOnClose(server: FastifyInstance): void {
  const open = new Set<Socket>();
  server.server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  // preClose runs right before the server stops accepting connections.
  server.addHook('preClose', (done) => {
    for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
    done();
  });
}
