import net from 'node:net';

/**
 * One HTTP/1.1 request written byte for byte on a plain socket, so a test can send what no
 * well-behaved client would (a truncated multipart body, a wrong Content-Length, a body cut off
 * by closing the socket). Answers the raw response text ('' when the server closed without one).
 */
export function rawHttp(baseUrl: string, head: string, body: string | Uint8Array = '', options: { abortAfterBody?: boolean } = {}): Promise<{ status: number; text: string; json: any }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.write(head.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '\r\n\r\n'));
      socket.write(body);
      // A client that gives up mid-body: the server sees the connection reset, not an end.
      if (options.abortAfterBody) setImmediate(() => socket.resetAndDestroy());
    });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => (options.abortAfterBody ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
      let json: unknown;
      try {
        json = JSON.parse(payload);
      } catch {
        json = undefined;
      }
      resolve({ status, text, json });
    });
  });
}
