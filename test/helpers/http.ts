/**
 * Test helper: HTTP requests with the real curl binary (a peer independent
 * of the code under test), returning status, headers and body.
 */
import { curl } from "./curl.ts";

/** An HTTP response as curl received it. */
export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** Options of {@linkcode httpRequest}. */
export interface HttpRequestOptions {
  method?: string;
  /** Request body text (sent as is). */
  body?: string;
  /** Send this file as the body (`--data-binary @file`). */
  bodyFile?: string;
  headers?: Record<string, string>;
  /** Local address to send from (`--interface`), e.g. `"127.0.0.2"`. */
  from?: string;
}

/**
 * Send one HTTP/1.1 request with curl and parse the answer. Rejects when
 * curl got no HTTP response at all.
 */
export async function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const args = ["--http1.1", "--include", "--request", options.method ?? "GET"];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push("--header", `${name}: ${value}`);
  if (options.body !== undefined) args.push("--data-binary", options.body);
  if (options.bodyFile !== undefined) args.push("--data-binary", `@${options.bodyFile}`);
  if (options.from !== undefined) args.push("--interface", options.from);
  const r = await curl([...args, url]);
  let rest = r.stdout;
  // Skip interim answers (100 Continue) to the final one.
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (!rest.startsWith("HTTP/") || end < 0) {
      throw new Error(`no HTTP response from ${url} (curl exit ${r.code}): ${r.stderr}`);
    }
    const head = rest.slice(0, end).split("\r\n");
    rest = rest.slice(end + 4);
    const status = Number(head[0].split(" ")[1]);
    if (status >= 100 && status < 200) continue;
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status, headers, body: rest };
  }
}
