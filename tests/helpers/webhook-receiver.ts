/**
 * A real HTTP receiver of fraudwall's early-warning events, in the test process: it verifies every
 * request's Standard Webhooks signature with the `standardwebhooks` package (an implementation
 * independent of fraudwall's), keeps what it accepted, and can answer a chosen status or go down
 * (its port closed) and come back on the same port.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedEvent {
  readonly id: string;
  readonly type: string;
  readonly specversion: string;
  readonly source: string;
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: string;
  readonly data: Record<string, unknown>;
}

export interface ReceivedRequest {
  readonly at: number;
  readonly webhookId: string;
  readonly timestamp: string;
  readonly contentType: string;
  readonly contentLength: number;
  readonly bodyBytes: number;
  readonly verified: boolean;
  readonly status: number;
}

export interface WebhookReceiver {
  readonly port: number;
  readonly url: string;
  /** Every request, accepted or not. */
  readonly requests: ReceivedRequest[];
  /** Events of the requests answered 2xx, in arrival order, each with the time it arrived. */
  readonly events: (ReceivedEvent & { readonly receivedAt: number; readonly webhookId: string })[];
  /** Requests whose signature did not verify (a correct fraudwall never makes one). */
  readonly badSignatures: number;
  /** The status to answer from now on (default 200); a bad signature is always 401. */
  answer(status: number): void;
  /** Closes the port (connections refused) until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A Standard Webhooks secret: whsec_ + base64 of 32 random bytes. */
export function newSecret(): string {
  return `whsec_${Buffer.from(Array.from({ length: 32 }, () => Math.floor(Math.random() * 256))).toString('base64')}`;
}

/** With `tls`, the receiver speaks HTTPS with that key and certificate. */
export async function startWebhookReceiver(secret: string, tls?: { key: string; cert: string }): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  let status = 200;
  let badSignatures = 0;
  const requests: ReceivedRequest[] = [];
  const events: WebhookReceiver['events'][number][] = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified = true;
      try {
        verifier.verify(body.toString(), headers);
      } catch {
        verified = false;
        badSignatures++;
      }
      const answered = verified ? status : 401;
      requests.push({
        at: Date.now(),
        webhookId: headers['webhook-id'] ?? '',
        timestamp: headers['webhook-timestamp'] ?? '',
        contentType: headers['content-type'] ?? '',
        contentLength: Number(headers['content-length']),
        bodyBytes: body.length,
        verified,
        status: answered,
      });
      if (answered >= 200 && answered < 300) {
        for (const event of JSON.parse(body.toString()) as ReceivedEvent[]) {
          events.push({ ...event, receivedAt: Date.now(), webhookId: headers['webhook-id'] ?? '' });
        }
      }
      res.writeHead(answered).end();
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/hooks/fraudwall`,
    requests,
    events,
    get badSignatures() {
      return badSignatures;
    },
    answer(next) {
      status = next;
    },
    async down() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async up() {
      await listen(port);
    },
    async close() {
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
