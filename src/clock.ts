/** Time as the bot sees it; injected so tests can move it (token expiry, voting deadlines, ETAs). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
