// Test helpers for the registry tests: real git repos built with the git CLI, a smart-HTTP git server
// (git http-backend as CGI behind node:http) and a static file server for https remotes, on loopback.
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim();
}

export async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), content);
  }
}

export interface Served {
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

const close = (server: Server) => () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });

/**
 * Serves the git repos under `projectRoot` over smart HTTP: http://127.0.0.1:PORT/<repo dir>; with
 * `basicAuth`, as a private host does: 401 and a Basic challenge unless the credentials match.
 */
export async function serveGitHttp(projectRoot: string, options: { basicAuth?: { username: string; password: string } } = {}): Promise<Served> {
  const server = createServer((req, res) => {
    if (options.basicAuth) {
      const expected = `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
        res.end();
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        REQUEST_METHOD: req.method ?? 'GET',
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.statusCode = status;
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => { res.statusCode = 500; res.end(); });
  });
  const url = await listen(server);
  return { url, close: close(server) };
}

/** A static file server (what an https DVC remote is): GET <url>/<path> reads <root>/<path>. */
export async function serveStatic(root: string): Promise<Served & { requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    requests.push(path);
    const file = join(root, path);
    stat(file).then(
      (s) => {
        if (!s.isFile()) throw new Error('not a file');
        res.setHeader('content-length', s.size);
        createReadStream(file).pipe(res);
      },
      () => { res.statusCode = 404; res.end('not found'); },
    ).catch(() => { res.statusCode = 404; res.end(); });
  });
  const url = await listen(server);
  return { url, requests, close: close(server) };
}
