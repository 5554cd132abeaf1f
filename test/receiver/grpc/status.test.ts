import { describe, expect, it } from 'vitest';
import { Refusal, RETRY_AFTER_SECONDS, GRPC_STATUS, type RefusalKind } from '../../../receiver/model/outcome.js';
import { encodeStatusProtobuf, RETRY_INFO_TYPE_URL } from '../../../receiver/decode/otlp-protobuf.js';
import { codeName, grpcError, STATUS_DETAILS_TRAILER } from '../../../receiver/grpc/status.js';
import { decodeRpcStatus } from '../../helpers/grpc.js';

describe('gRPC status details', () => {
  it('encodes a google.rpc.Status with a RetryInfo that protobufjs reads back', () => {
    const bytes = encodeStatusProtobuf(GRPC_STATUS.UNAVAILABLE, 'writer memory budget full: retry later', 2);
    expect(decodeRpcStatus(bytes)).toEqual({
      code: GRPC_STATUS.UNAVAILABLE,
      message: 'writer memory budget full: retry later',
      details: [{ typeUrl: RETRY_INFO_TYPE_URL, retryDelaySeconds: 2 }],
    });
  });

  it('encodes multi-byte lengths, non-ASCII messages and long delays', () => {
    const message = `données ${'x'.repeat(300)} ✓`;
    expect(decodeRpcStatus(encodeStatusProtobuf(GRPC_STATUS.RESOURCE_EXHAUSTED, message, 3600))).toEqual({
      code: GRPC_STATUS.RESOURCE_EXHAUSTED,
      message,
      details: [{ typeUrl: RETRY_INFO_TYPE_URL, retryDelaySeconds: 3600 }],
    });
  });

  it('leaves a zero delay out, as proto3 does, which still reads as 0 seconds', () => {
    expect(decodeRpcStatus(encodeStatusProtobuf(GRPC_STATUS.UNAVAILABLE, 'now', 0)).details).toEqual([
      { typeUrl: RETRY_INFO_TYPE_URL, retryDelaySeconds: 0 },
    ]);
  });

  const kinds: RefusalKind[] = ['invalid', 'unauthenticated', 'forbidden', 'too_large', 'overloaded', 'unavailable', 'internal'];
  it.each(kinds)('answers a %s refusal with its outcome.ts code, and RetryInfo only when it is worth retrying', (kind) => {
    const error = grpcError(new Refusal(kind, `because ${kind}`));
    expect(error.details).toBe(`because ${kind}`);
    const [details] = error.metadata!.get(STATUS_DETAILS_TRAILER);
    const delay = RETRY_AFTER_SECONDS[kind];
    if (delay === undefined) {
      expect(details).toBeUndefined();
    } else {
      expect(decodeRpcStatus(details as Buffer)).toEqual({
        code: error.code,
        message: `because ${kind}`,
        details: [{ typeUrl: RETRY_INFO_TYPE_URL, retryDelaySeconds: delay }],
      });
    }
  });

  it('names codes for metric labels', () => {
    expect([0, 3, 14, 16].map(codeName)).toEqual(['OK', 'INVALID_ARGUMENT', 'UNAVAILABLE', 'UNAUTHENTICATED']);
  });
});
