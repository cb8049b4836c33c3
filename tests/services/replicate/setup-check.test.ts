import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReplicateClient } from '../../../src/services/replicate/client.js';
import { checkReplicateSetup } from '../../../src/services/replicate/setup-check.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../../emulators/replicate/index.js';
import { TEST_DESTINATION } from '../../support/replicate-training.js';

let emulator: ReplicateEmulator;

beforeAll(async () => {
  emulator = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
});
afterAll(() => emulator.close());
afterEach(() => expect(emulator.specErrors).toEqual([]));

function check(token: string | undefined, destination: string | undefined, baseUrl = emulator.baseUrl, mode: 'ladder' | 'streaming' = 'ladder') {
  const client = createReplicateClient({ token: token ?? '', baseUrl });
  return checkReplicateSetup(client, { REPLICATE_API_TOKEN: token, REPLICATE_TRAINING_DESTINATION: destination, REPLICATE_TRAINER_MODE: mode, GPU_BACKEND: 'replicate' });
}

describe('checking the Replicate setup at start', () => {
  it('finds nothing wrong with a working token and an existing destination', async () => {
    expect(await check(emulator.token, TEST_DESTINATION)).toEqual([]);
  });

  it.each([
    ['no token', () => [undefined, TEST_DESTINATION], 'REPLICATE_API_TOKEN', 'missing', /REPLICATE_API_TOKEN is not set/],
    ['a token Replicate refuses', () => ['r8_not_a_real_token', TEST_DESTINATION], 'REPLICATE_API_TOKEN', 'refused', /REPLICATE_API_TOKEN was refused by Replicate \(HTTP 401\)/],
    ['no destination', () => [emulator.token, undefined], 'REPLICATE_TRAINING_DESTINATION', 'missing', /REPLICATE_TRAINING_DESTINATION is not set/],
    ['a destination that does not exist', () => [emulator.token, 'kmplz-tests/nowhere'], 'REPLICATE_TRAINING_DESTINATION', 'not-found', /names kmplz-tests\/nowhere, which does not exist/],
  ] as const)('names %s', async (_case, args, key, problem, message) => {
    const [token, destination] = args();
    const problems = await check(token, destination);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ key, problem });
    expect(problems[0]!.message).toMatch(message);
  });

  it('asks for no destination in streaming mode, whose one run is a prediction', async () => {
    expect(await check(emulator.token, undefined, emulator.baseUrl, 'streaming')).toEqual([]);
  });

  it('says Replicate could not be asked when it does not answer, without throwing', async () => {
    const problems = await check(emulator.token, TEST_DESTINATION, 'http://127.0.0.1:9/v1');
    expect(problems).toMatchObject([{ key: 'REPLICATE_API_TOKEN', problem: 'unreachable' }]);
  });
});
