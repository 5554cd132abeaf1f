/**
 * The layout of a spool segment: frames appended one after the other, each an OTLP request body as
 * the serializer made it, behind a 9-byte header (a marker byte, the body's length and its record
 * count, little-endian). The body is stored unchanged so that a replay sends the bytes a live export
 * would have sent, and the receiver's idempotency recognises them.
 *
 * A process killed mid-append leaves at most a short last frame (the header says more bytes than
 * follow) and a power cut may leave zeros: reading stops at the first frame that does not check out,
 * keeping everything before it.
 */
export const FRAME_HEADER_BYTES = 9;
const MARKER = 0x50; // 'P'

export interface Frame {
  records: number;
  body: Uint8Array;
}

export function frameHeader(bodyBytes: number, records: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header[0] = MARKER;
  header.writeUInt32LE(bodyBytes, 1);
  header.writeUInt32LE(records, 5);
  return header;
}

/** The frames of a segment's content, up to the first one that is cut short or not a frame. */
export function readFrames(content: Uint8Array): Frame[] {
  const view = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const frames: Frame[] = [];
  let at = 0;
  while (at + FRAME_HEADER_BYTES <= view.length && view[at] === MARKER) {
    const bytes = view.readUInt32LE(at + 1);
    const records = view.readUInt32LE(at + 5);
    const end = at + FRAME_HEADER_BYTES + bytes;
    if (end > view.length || bytes === 0) break;
    frames.push({ records, body: view.subarray(at + FRAME_HEADER_BYTES, end) });
    at = end;
  }
  return frames;
}
