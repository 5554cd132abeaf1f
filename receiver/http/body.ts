/**
 * Reads a request body under a byte limit that also applies after decompression (OTLP spec v1.11.0
 * recommends 64 MiB both ways): inflation stops as soon as the output passes the limit, so a gzip
 * bomb costs at most `limit` bytes of memory, not its inflated size.
 */
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { HttpError } from './errors.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

const CLOSE = { Connection: 'close' };

function tooLarge(limit: number, what: string): HttpError {
  return new HttpError(413, `request body ${what} exceeds the limit of ${limit} bytes: send smaller batches`, CLOSE);
}

async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit, `of ${declared} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit, 'as sent');
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

async function decompress(raw: Buffer, encoding: string, limit: number): Promise<Buffer> {
  const options = { maxOutputLength: limit };
  try {
    switch (encoding) {
      case '':
      case 'identity':
        return raw;
      case 'gzip':
      case 'x-gzip':
        return await gunzip(raw, options);
      case 'deflate':
        // RFC 9110 deflate is zlib-wrapped, but some clients send raw deflate: accept both.
        return await inflate(raw, options).catch((error: NodeJS.ErrnoException) =>
          error.code === 'Z_DATA_ERROR' ? inflateRaw(raw, options) : Promise.reject(error),
        );
      default:
        throw new HttpError(400, `unsupported Content-Encoding "${encoding}": use gzip, deflate or none`);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit, 'once decompressed');
    throw new HttpError(400, `request body is not valid ${encoding} data: ${(error as Error).message}`);
  }
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const raw = await readRaw(req, limit);
  const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
  return decompress(raw, encoding, limit);
}
