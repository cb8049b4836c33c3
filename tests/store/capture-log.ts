import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** A pino logger whose lines land in `lines`, to check what the store reports. */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}
