// The lab's on-call webhook: Alertmanager delivers every notification here (the teams' Prometheus
// alerts and Argo CD's, which reach Alertmanager as alerts too), and this records each one, as a
// pager would, so the tests can ask what reached someone.
//
//   node lab/scripts/alert-receiver.mjs <host> <port> <file>
//
// POST any path: the JSON body is appended to <file> as one line {path, receivedAt, body}; 204.
// GET /received: every recorded line, as a JSON array. Anything else: 404.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [host, port, file] = process.argv.slice(2);
if (!host || !/^\d+$/.test(port ?? '') || !file) {
  console.error('usage: alert-receiver.mjs <host> <port> <file>');
  process.exit(2);
}

const received = () =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];

createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    if (request.method === 'GET' && request.url === '/received') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(received()));
      return;
    }
    if (request.method !== 'POST') {
      response.writeHead(404).end();
      return;
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('the body is not JSON\n');
      return;
    }
    appendFileSync(
      file,
      `${JSON.stringify({ path: request.url, receivedAt: Date.now(), body })}\n`,
    );
    console.log(
      `${new Date().toISOString()} ${request.url}: ${body.status ?? ''} ${body.groupKey ?? ''}`,
    );
    response.writeHead(204).end();
  });
}).listen(Number(port), host, () =>
  console.log(`alert receiver on ${host}:${port}, recording to ${file}`),
);
