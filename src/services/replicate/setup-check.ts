import type Replicate from 'replicate';
import type { Config } from '../../config.js';
import { httpStatusOf } from './client.js';

/**
 * Something in the Replicate setup that would otherwise first fail in front of the class (the
 * first `/train` or `/kmplz`), found at start instead. `message` is one plain line for the person
 * who set the bot up; it names the key to fix and where its value comes from.
 */
export interface SetupProblem {
  key: 'REPLICATE_API_TOKEN' | 'REPLICATE_TRAINING_DESTINATION';
  problem: 'missing' | 'refused' | 'not-found' | 'unreachable';
  message: string;
}

type SetupConfig = Pick<Config, 'REPLICATE_API_TOKEN' | 'REPLICATE_TRAINING_DESTINATION' | 'REPLICATE_TRAINER_MODE' | 'GPU_BACKEND'>;

/**
 * Asks Replicate who the token belongs to (`GET /account`) and, for the ladder, whether the
 * destination model of `/train` exists (`GET /models/{owner}/{name}`). Both are free reads. Never throws: what it
 * cannot find out is itself a problem to name.
 */
export async function checkReplicateSetup(client: Replicate, config: SetupConfig): Promise<SetupProblem[]> {
  // On the class's own GPU (GPU_BACKEND=cog) pictures and trainings need nothing of Replicate.
  if (config.GPU_BACKEND === 'cog') return [];
  if (!config.REPLICATE_API_TOKEN) {
    return [
      {
        key: 'REPLICATE_API_TOKEN',
        problem: 'missing',
        message: 'REPLICATE_API_TOKEN is not set: captions on Replicate, /train and /kmplz will not work until it is (replicate.com → Account settings → API tokens).',
      },
    ];
  }
  try {
    await client.accounts.current();
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 401 || status === 403) {
      return [
        {
          key: 'REPLICATE_API_TOKEN',
          problem: 'refused',
          message: `REPLICATE_API_TOKEN was refused by Replicate (HTTP ${status}): copy a current token from replicate.com → Account settings → API tokens.`,
        },
      ];
    }
    return [{ key: 'REPLICATE_API_TOKEN', problem: 'unreachable', message: `Replicate could not be asked whether REPLICATE_API_TOKEN works (${describe(error)}); the bot tries again when it is used.` }];
  }
  // Only the ladder's trainings publish versions to a destination; a streaming run is a prediction.
  if (config.REPLICATE_TRAINER_MODE === 'streaming') return [];
  const destination = config.REPLICATE_TRAINING_DESTINATION;
  if (!destination) {
    return [
      {
        key: 'REPLICATE_TRAINING_DESTINATION',
        problem: 'missing',
        message: 'REPLICATE_TRAINING_DESTINATION is not set: /train will refuse until it names a model of your Replicate account (create one, private is fine, at replicate.com/create).',
      },
    ];
  }
  const [owner, name] = destination.split('/') as [string, string];
  try {
    await client.models.get(owner, name);
    return [];
  } catch (error) {
    if (httpStatusOf(error) === 404) {
      return [
        {
          key: 'REPLICATE_TRAINING_DESTINATION',
          problem: 'not-found',
          message: `REPLICATE_TRAINING_DESTINATION names ${destination}, which does not exist or this token cannot see it: create it (private is fine) at replicate.com/create under the token's account.`,
        },
      ];
    }
    return [{ key: 'REPLICATE_TRAINING_DESTINATION', problem: 'unreachable', message: `Replicate could not be asked about REPLICATE_TRAINING_DESTINATION ${destination} (${describe(error)}).` }];
  }
}

function describe(error: unknown): string {
  const status = httpStatusOf(error);
  return status === undefined ? (error instanceof Error ? error.message : String(error)) : `HTTP ${status}`;
}
