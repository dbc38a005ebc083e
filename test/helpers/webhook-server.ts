import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { limitRequestBodies } from '../../src/runtime/body-limit.js';

export const WEBHOOK_PATH = '/api/github/webhooks';

/**
 * An HTTP server on 127.0.0.1 whose webhook POSTs go, as in the app, through the body limit to
 * `onBody` (a webhook receiver); anything else is answered 404, as by a server with no other route.
 */
export async function startWebhookServer(onBody: (req: IncomingMessage, res: ServerResponse, body: Buffer) => unknown) {
  const server = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  limitRequestBodies(server, { webhookPath: WEBHOOK_PATH, onBody, maxBytes: 64 * 1024 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
