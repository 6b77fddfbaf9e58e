import type { EventCodec, WireRecord } from '@churnscore/events';
import { unreadBatchRejection } from './codecs';

/**
 * Decodes fetched input records as the codec does, except the placeholders of a batch that was not read (it
 * decompresses past KAFKA_MAX_DECOMPRESSION_RATIO), refused as BATCH_TOO_LARGE rather than by their empty value.
 */
export async function decodeFetched(codec: EventCodec, topic: string, records: readonly WireRecord[], now: number): ReturnType<EventCodec['decodeAll']> {
  const results = await codec.decodeAll(topic, records, now);
  return results.map((result, i) => unreadBatchRejection(records[i]!.value) ?? result);
}
