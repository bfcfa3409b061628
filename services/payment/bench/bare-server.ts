import http from 'node:http';
import { randomUUID } from 'node:crypto';

/**
 * The floor the benchmark compares against: node:http that reads the same JSON body, parses
 * it and answers a decision of the same shape, with no framework, validation or store.
 */
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { customer_id?: unknown };
    const answer = JSON.stringify({
      result: body.customer_id !== undefined,
      id: `ch_${randomUUID().replace(/-/g, '')}`,
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(answer),
    });
    res.end(answer);
  });
});

server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
