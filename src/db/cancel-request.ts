import { connect } from 'node:net';

// PostgreSQL's CancelRequest code, sent in place of a startup message.
const cancelRequestCode = 80877102;

export interface CancelTarget {
  readonly host: string;
  readonly port: number;
  readonly processId: number;
  readonly secretKey: number;
}

// Asks the server (or a pooler in front of it, which forwards it to the server connection its client is
// using) to cancel the statement that connection is running, on a connection of its own, as libpq's
// PQcancel does. `stillWanted` is asked once connected, so a statement that finished meanwhile is spared
// and the request is not sent at all.
export function sendCancelRequest(target: CancelTarget, stillWanted: () => boolean): void {
  const socket = target.host.startsWith('/')
    ? connect(`${target.host}/.s.PGSQL.${target.port}`)
    : connect(target.port, target.host);
  socket.setTimeout(5000, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.once('connect', () => {
    if (!stillWanted()) {
      socket.destroy();
      return;
    }
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(cancelRequestCode, 4);
    packet.writeInt32BE(target.processId, 8);
    packet.writeInt32BE(target.secretKey, 12);
    socket.end(packet);
  });
}
