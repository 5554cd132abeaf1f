/**
 * Just enough of a protobuf writer for the small messages pipemon answers with (OTLP export responses,
 * google.rpc.Status with its details): five fields do not justify a protobuf runtime. Proto3 leaves
 * zero values out, so callers skip the fields that are zero or empty.
 */
const LEN = 2;

export class ProtobufWriter {
  private readonly bytes: number[] = [];

  varintField(field: number, value: number): this {
    this.varint(field << 3);
    // int32/int64 as two's complement: negative values take ten bytes, as the spec says.
    let n = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    while (n >= 0x80n) {
      this.bytes.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.bytes.push(Number(n));
    return this;
  }

  stringField(field: number, value: string): this {
    return this.bytesField(field, Buffer.from(value, 'utf8'));
  }

  bytesField(field: number, value: Uint8Array): this {
    this.varint((field << 3) | LEN);
    this.varint(value.length);
    for (const b of value) this.bytes.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  private varint(n: number): void {
    while (n >= 0x80) {
      this.bytes.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    this.bytes.push(n);
  }
}
