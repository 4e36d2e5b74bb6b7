/**
 * Test helper: real destination servers on loopback — an HTTP server that
 * records who connected, and a TCP echo server.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";

/** A running HTTP target. */
export interface HttpTarget {
  port: number;
  /** Remote addresses of the connections it accepted, in order. */
  peers: string[];
  close(): Promise<void>;
}

/** Start an HTTP server on `host` that answers `GET /` with `hello from target\n` and `/bytes/N` with N bytes. */
export function startHttpTarget(host = "127.0.0.1"): Promise<HttpTarget> {
  const peers: string[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    const m = req.url?.match(/^\/bytes\/(\d+)$/);
    if (m) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(new Uint8Array(Number(m[1])).fill(120));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end("hello from target\n");
  });
  server.on("connection", (s: Socket) => peers.push(s.remoteAddress ?? "?"));
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        peers,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

/** A running echo target. */
export interface EchoTarget {
  port: number;
  peers: string[];
  close(): Promise<void>;
}

/** Start a TCP server on `host` that echoes every byte and half-closes when the client does. */
export function startEchoTarget(host = "127.0.0.1"): Promise<EchoTarget> {
  const peers: string[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer({ allowHalfOpen: true }, (s) => {
    peers.push(s.remoteAddress ?? "?");
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.pipe(s);
  });
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      resolve({
        port: (server.address() as { port: number }).port,
        peers,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
