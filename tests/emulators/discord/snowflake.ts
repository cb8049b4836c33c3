/** Discord's epoch (2015-01-01T00:00:00Z); a snowflake's top 42 bits count milliseconds since then. */
export const DISCORD_EPOCH = 1420070400000n;

/**
 * Snowflakes as Discord mints them: timestamp << 22 | worker << 17 | process << 12 | increment.
 * Ids made today are 19 digits long, which matters: @discordjs/rest only recognises
 * `\d{17,19}` as ids when it computes rate-limit buckets, so short fake ids change its behaviour.
 */
export class SnowflakeGenerator {
  private increment = 0n;
  private lastTimestamp = 0n;

  constructor(private readonly worker = 1n) {}

  next(at: number = Date.now()): string {
    let timestamp = BigInt(at) - DISCORD_EPOCH;
    // Keep ids strictly increasing even when the clock stands still or steps back, since
    // message ordering and pagination (before/after) compare ids.
    if (timestamp < this.lastTimestamp) timestamp = this.lastTimestamp;
    if (timestamp === this.lastTimestamp) {
      this.increment = (this.increment + 1n) & 0xfffn;
      if (this.increment === 0n) timestamp += 1n;
    } else {
      this.increment = 0n;
    }
    this.lastTimestamp = timestamp;
    return ((timestamp << 22n) | (this.worker << 17n) | (1n << 12n) | this.increment).toString();
  }
}

/** Milliseconds since the Unix epoch at which a snowflake was minted. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}
