import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';

/** Node's limit on the request line plus headers (its default `maxHeaderSize`): a longer URL cannot reach the app. */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Requests Node's HTTP parser refuses before the app sees them (a URL or headers over 16 KB, a
 * malformed request line) get an answer in the API's error shape instead of Node's bare status
 * line with an empty body. A connection already reset gets nothing.
 */
export function answerClientErrors(server: Pick<Server, 'on'>) {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [code, message]: [ErrorCode, string] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', `The URL and headers exceed ${MAX_HEADER_BYTES / 1024} KB; send long lists in a request body`]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['REQUEST_TIMEOUT', 'The request was not received in time']
          : ['INVALID_PARAMETERS', 'Malformed HTTP request'];
    const status = ERROR_STATUS[code];
    const body = JSON.stringify({ error: message, code, details: code === 'HEADERS_TOO_LARGE' ? { maxBytes: MAX_HEADER_BYTES } : {} });
    socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };
