/**
 * A pipeline, run or stage name that is not a string (an array, a number) is stored as its text, which an
 * index holds only up to about 2,700 bytes: a long one is left out as a long string name is, and never fails
 * the request it came in.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR } from '../../../contract/vocabulary.js';
import { metricsAnswer, metricsBody, metricsOf, numberMetric } from '../../helpers/metrics-sdk.js';
import { post, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { storedPoints } from '../../helpers/stored-points.js';

describe.each(receiverBackends())('POST /v1/metrics with names that are not strings on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver(await backend.options());
  });
  afterAll(() => r?.close());

  it.each([ATTR.runId, ATTR.pipelineName, ATTR.stageName])('leaves out a point whose %s is a long array, storing the rest', async (name) => {
    const service = `key-names-${name}`;
    const request = metricsOf(service, [
      // Random, so that PostgreSQL cannot compress the index entry below its limit.
      numberMetric('long.array', [1], { attributes: { [name]: [randomBytes(1_500).toString('base64'), randomBytes(1_500).toString('base64')] } }),
      numberMetric('number', [2], { attributes: { [name]: 12345 } }),
      numberMetric('plain', [3]),
    ]);
    const answer = await post(r.url, '/v1/metrics', metricsBody(request), { key: r.key });
    expect(answer.status, answer.body.toString('latin1')).toBe(200);
    expect(metricsAnswer(answer.body)).toEqual({ rejectedDataPoints: 1, errorMessage: '1 data points rejected: 1 with a pipeline, run or stage name over 1024 bytes' });
    expect((await storedPoints(r.receiver.db, service)).map((p) => p.metric)).toEqual(['number', 'plain']);
  });
});
