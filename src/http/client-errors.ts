import type { Socket } from 'node:net';
import { operationIdHeader } from '../context/operation-id.ts';
import { malformedRequest } from '../errors/catalogue.ts';
import { errorBody } from './error-body.ts';

const reasons: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'the request line or headers are too large',
  ERR_HTTP_REQUEST_TIMEOUT: 'the request was not received in time',
};

// Requests Node's HTTP parser refuses before Fastify sees them (headers too large, a malformed request
// line, a client too slow) still get the documented Error body.
export function clientErrorHandler(
  newId: () => string,
): (error: Error & { code?: string; rawPacket?: unknown }, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    if (socket.writable) {
      const apiError = malformedRequest(reasons[error.code ?? ''] ?? 'the request is not valid HTTP');
      const operationId = newId();
      // A HEAD request gets the status and headers only.
      const head =
        Buffer.isBuffer(error.rawPacket) && error.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
      const body = head ? '' : JSON.stringify(errorBody(apiError.entry, apiError.message, operationId));
      socket.write(
        `HTTP/1.1 ${apiError.entry.httpStatus} Bad Request\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n${operationIdHeader}: ${operationId}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
