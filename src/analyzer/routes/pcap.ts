/**
 * POST /api/pcap (skydive-api.md §2.3): the body is a pcap or pcapng capture, whatever its
 * Content-Type (Skydive's client sends none of its own); its flows are stored (pcap-import.ts).
 * 202 once they are, with what was read; 400 when the body is not a capture or a record in it is
 * corrupt (the flows of the packets before it are kept, and the reply says how many).
 */
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import type { AnalyzerContext } from '../context.js';
import { PcapImportError, PcapImportStopped } from '../pcap-import.js';

export function pcapRoutes(ctx: AnalyzerContext) {
  return async (app: FastifyInstance): Promise<void> => {
    // The body is streamed to the import as it comes, never held whole: no parser, no size limit here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    // An empty Content-Type header (not an absent one) is refused by fastify before any parser.
    app.addHook('onRequest', async (req) => {
      if (req.headers['content-type'] === '') delete req.headers['content-type'];
    });

    app.post('/api/pcap', async (req, reply) => {
      const body = req.body instanceof Readable ? req.body : Readable.from([]);
      try {
        const r = await ctx.pcap.import(body, req.ip);
        return reply.code(202).type('application/json; charset=UTF-8').send({
          Packets: r.packets, Flows: r.flows, DecodeFailures: r.decodeFailures,
          ...(r.truncatedBytes !== undefined ? { TruncatedBytes: r.truncatedBytes } : {}),
        });
      } catch (err) {
        if (err instanceof PcapImportError) return reply.code(400).type('text/plain; charset=utf-8').send(`${err.message}\n`);
        if (err instanceof PcapImportStopped) return reply.code(503).type('text/plain; charset=utf-8').send(`${err.message}\n`);
        // The client went away part way through the upload: nobody is left to answer.
        if (body.destroyed && !body.readableEnded) return reply.code(400).send();
        ctx.log(`a pcap import from ${req.ip} failed: ${(err as Error)?.stack ?? String(err)}`);
        return reply.code(500).type('text/plain; charset=utf-8').send(`the import failed inside the analyzer: ${(err as Error)?.message}\n`);
      }
    });
  };
}
