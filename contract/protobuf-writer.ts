/**
 * Just enough of a protobuf writer for the small messages pipemon answers with (OTLP export responses,
 * google.rpc.Status with its details), and for the messages tests write by hand (what no SDK sends): a
 * few fields do not justify a protobuf runtime. Proto3 leaves zero values out, so callers skip the
 * fields that are zero or empty.
 */
const I64 = 1;
const LEN = 2;

export class ProtobufWriter {
  private readonly bytes: number[] = [];

  varintField(field: number, value: number | bigint): this {
    this.varint(field << 3);
    // int32/int64 as two's complement: negative values take ten bytes, as the spec says.
    let n = BigInt.asUintN(64, typeof value === 'bigint' ? value : BigInt(Math.trunc(value)));
    while (n >= 0x80n) {
      this.bytes.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.bytes.push(Number(n));
    return this;
  }

  /** fixed64 or sfixed64 (two's complement): eight bytes, little-endian. */
  fixed64Field(field: number, value: bigint): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    return this.i64(field, bytes);
  }

  doubleField(field: number, value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    return this.i64(field, bytes);
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

  private i64(field: number, bytes: Uint8Array): this {
    this.varint((field << 3) | I64);
    for (const b of bytes) this.bytes.push(b);
    return this;
  }

  private varint(n: number): void {
    while (n >= 0x80) {
      this.bytes.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    this.bytes.push(n);
  }
}
