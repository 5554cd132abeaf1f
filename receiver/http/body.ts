/**
 * Reads a request body under a byte limit that also applies after decompression (OTLP spec v1.11.0
 * recommends 64 MiB both ways): inflation stops as soon as the output passes the limit, so a gzip
 * bomb costs at most `limit` bytes of memory, not its inflated size. Every chunk held, as sent or
 * inflated, is first claimed from the writer's memory budget through `hold`, which throws when the
 * budget is full: memory stays bounded for chunked and compressed uploads too.
 */
import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { Refusal } from '../model/outcome.js';

/** Claims `bytes` more of the memory budget, or throws. */
export type Hold = (bytes: number) => void;

const CLOSE = { Connection: 'close' };

function tooLarge(limit: number, what: string): Refusal {
  return new Refusal('too_large', `request body ${what} exceeds the limit of ${limit} bytes: send smaller batches`, CLOSE);
}

/** Collects chunks under the limit, claiming each from the budget before keeping it. */
async function collect(chunks: AsyncIterable<Buffer>, limit: number, hold: Hold, what: string): Promise<Buffer> {
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit, what);
    hold(chunk.length);
    kept.push(chunk);
  }
  return kept.length === 1 ? kept[0]! : Buffer.concat(kept, size);
}

class CorruptBody extends Error {}

async function inflateWith(make: () => zlib.Gunzip | zlib.Inflate | zlib.InflateRaw, raw: Buffer, limit: number, hold: Hold): Promise<Buffer> {
  const stream = make();
  stream.end(raw);
  const chunks = (async function* () {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
    } catch (error) {
      throw new CorruptBody((error as Error).message, { cause: error });
    }
  })();
  try {
    return await collect(chunks, limit, hold, 'once decompressed');
  } finally {
    stream.destroy();
  }
}

async function decompress(raw: Buffer, encoding: string, limit: number, hold: Hold): Promise<Buffer> {
  try {
    switch (encoding) {
      case '':
      case 'identity':
        return raw;
      case 'gzip':
      case 'x-gzip':
        return await inflateWith(zlib.createGunzip, raw, limit, hold);
      case 'deflate':
        // RFC 9110 deflate is zlib-wrapped, but some clients send raw deflate: accept both.
        return await inflateWith(zlib.createInflate, raw, limit, hold).catch((error: unknown) =>
          error instanceof CorruptBody && (error.cause as NodeJS.ErrnoException).code === 'Z_DATA_ERROR'
            ? inflateWith(zlib.createInflateRaw, raw, limit, hold)
            : Promise.reject(error),
        );
      default:
        throw new Refusal('invalid', `unsupported Content-Encoding "${encoding}": use gzip, deflate or none`);
    }
  } catch (error) {
    if (error instanceof CorruptBody) throw new Refusal('invalid', `request body is not valid ${encoding} data: ${error.message}`);
    throw error;
  }
}

export async function readBody(req: IncomingMessage, limit: number, hold: Hold): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit, `of ${declared} bytes`);
  const raw = await collect(req as AsyncIterable<Buffer>, limit, hold, 'as sent');
  const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
  return decompress(raw, encoding, limit, hold);
}

/** Claims memory-budget bytes, waiting its turn behind gRPC deposits; the writer's, as the ingest line hands it out. */
export interface Budget {
  claim(bytes: number): Promise<{ grow(bytes: number): void; release(): void }>;
}

/**
 * Reads a request body held against the writer's memory budget; the caller releases the reservation
 * once the request is answered. The declared size is reserved before reading, so that under overload a
 * 503 costs no upload; what is held beyond it (a chunked upload, inflated bytes) is claimed as it arrives.
 */
export async function readBudgetedBody(req: IncomingMessage, limit: number, budget: Budget) {
  let prepaid = Math.min(Number(req.headers['content-length']) || 0, limit);
  const reservation = await budget.claim(prepaid);
  try {
    const body = await readBody(req, limit, (bytes) => {
      const covered = Math.min(prepaid, bytes);
      prepaid -= covered;
      if (bytes > covered) reservation.grow(bytes - covered);
    });
    return { body, reservation };
  } catch (error) {
    reservation.release();
    throw error;
  }
}
