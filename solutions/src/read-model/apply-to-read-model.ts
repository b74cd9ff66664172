import type { Config } from '#runtime/config.ts';
import type { AuctionEvent } from '#runtime/events/decode.ts';
import { failpoint } from '#runtime/failpoints.ts';
import type { ConsumerName } from '#runtime/queues.ts';
import type { Redis } from '#runtime/redis.ts';
import { itemKey, liveChangeOf } from './item-live.ts';
import { setIfNewer } from './set-if-newer.ts';

export const READ_MODEL_CONSUMER = 'read-model' satisfies ConsumerName;

/** Moves the item's live state to what the event says, unless the read model is already past it. */
export async function applyToReadModel(
  deps: { redis: Redis; config: Pick<Config, 'redis'> },
  _messageId: string,
  message: AuctionEvent,
): Promise<'applied' | 'duplicate'> {
  const { itemId, version, fields } = liveChangeOf(message);
  // A read model that falls behind the database (a slow or stopped consumer), on demand.
  await failpoint('read-model.before-apply');
  return (await setIfNewer(deps.redis, itemKey(deps.config, itemId), version, fields)) ? 'applied' : 'duplicate';
}
