// The original front end's requests, byte for byte as a browser (Chrome) sends them, and a raw-socket client
// that writes exactly those bytes: fetch/undici would add or reorder headers, so it cannot show what a real
// page load does.
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';

const CHROME_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export interface RawResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  text: string;
  json: any;
}

export interface BrowserRequest {
  method: 'GET' | 'POST' | 'OPTIONS';
  path: string;
  /** Host header value (host:port of the server the page talks to). */
  host: string;
  /** The page's origin; same-origin GETs send none, as browsers do. */
  origin?: string;
  body?: string;
  /** Extra headers, e.g. a request id. */
  extra?: Record<string, string>;
}

/** What a browser's fetch() writes for the front end's calls: a POST without `body` is the warmup (Content-Length: 0). */
export function browserBytes(req: BrowserRequest): string {
  const lines = [`${req.method} ${req.path} HTTP/1.1`, `Host: ${req.host}`, 'Connection: keep-alive'];
  const hasBody = req.method === 'POST';
  if (hasBody) lines.push(`Content-Length: ${Buffer.byteLength(req.body ?? '')}`);
  lines.push('sec-ch-ua-platform: "Linux"', `User-Agent: ${CHROME_UA}`);
  if (req.method === 'OPTIONS') {
    lines.push('Accept: */*', 'Access-Control-Request-Method: POST', 'Access-Control-Request-Headers: content-type');
  } else {
    lines.push('sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"');
    if (hasBody) lines.push('Content-Type: application/json');
    lines.push('sec-ch-ua-mobile: ?0', 'Accept: application/json, text/plain, */*');
  }
  if (req.origin) lines.push(`Origin: ${req.origin}`);
  const sameSite = req.origin === undefined || req.origin.endsWith(`//${req.host}`) ? 'same-origin' : 'same-site';
  lines.push(`Sec-Fetch-Site: ${sameSite}`, 'Sec-Fetch-Mode: cors', 'Sec-Fetch-Dest: empty');
  lines.push(
    `Referer: ${req.origin ?? `http://${req.host}`}/`,
    'Accept-Encoding: gzip, deflate, br, zstd',
    'Accept-Language: en-US,en;q=0.9',
  );
  for (const [name, value] of Object.entries(req.extra ?? {})) lines.push(`${name}: ${value}`);
  return lines.join('\r\n') + '\r\n\r\n' + (req.body ?? '');
}

/** Writes `bytes` to host:port and reads one response (Content-Length or chunked), then closes. */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 20_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response in ${timeoutMs} ms; got: ${data.toString('latin1').slice(0, 500)}`));
    }, timeoutMs);
    const finish = (res: RawResponse) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(res);
    };
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const res = parseResponse(data);
      if (res) finish(res);
    });
    socket.on('end', () => {
      const res = parseResponse(data, true);
      if (res) finish(res);
      else reject(new Error(`connection closed mid-response: ${data.toString('latin1').slice(0, 500)}`));
    });
    socket.write(bytes);
  });
}

function parseResponse(data: Buffer, ended = false): RawResponse | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...headerLines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let rest = data.subarray(end + 4);
  let body: Buffer;
  if (headers['transfer-encoding']?.includes('chunked')) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) return null;
      const size = Number.parseInt(rest.subarray(0, lineEnd).toString(), 16);
      if (rest.length < lineEnd + 2 + size + 2) return null;
      if (size === 0) break;
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.length < length) return null;
    body = rest.subarray(0, length);
  } else if (ended) {
    body = rest;
  } else {
    return null;
  }
  // The browser accepts gzip (nginx compresses); the raw client decodes it as the browser would.
  if (headers['content-encoding'] === 'gzip') body = gunzipSync(body);
  const text = body.toString('utf8');
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, text, json };
}
