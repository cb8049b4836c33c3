import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHubEmulator } from '../tests/emulators/hub/index.js';
import { safetensorsWithMetadata, writeTar } from '../tests/emulators/replicate/archive.js';
import { cogLoraShapes, sdxlAttentionProcessors } from '../tests/emulators/replicate/lora.js';
import { round1, run as exec } from './tools.js';

/**
 * `/publish` of a realistic checkpoint: a cog-sdxl archive at the default rank 32 with the LoRA
 * of all 140 SDXL attention processors (fp32, ≈ 186 MB) and the token embeddings. The bot's
 * publish runs alone in a child process (its peak RSS is its own) against the Hub emulator here:
 * read the kept archive, convert it, upload everything in one commit.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'out', 'publish');

export async function run(): Promise<Record<string, number | string>> {
  await rm(out, { recursive: true, force: true });
  const archive = path.join(out, 'guilds', 'g1', 'trainings', 'tr1', 'checkpoints', '1000.tar');
  await mkdir(path.dirname(archive), { recursive: true });
  await writeFile(
    archive,
    writeTar([
      { name: 'lora.safetensors', data: safetensorsWithMetadata({}, cogLoraShapes(sdxlAttentionProcessors(), 32)) },
      { name: 'embeddings.pti', data: safetensorsWithMetadata({}, new Map([['text_encoders_0', [2, 768]], ['text_encoders_1', [2, 1280]]])) },
      { name: 'special_params.json', data: Buffer.from('{"KMPLZ": "<s0><s1>"}') },
    ]),
  );
  const hub = await startHubEmulator();
  try {
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', path.join(here, 'publish.child.ts'), out, hub.url, hub.token]);
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { ms: number; peakRssMb: number; committed: boolean };
    if (!result.committed) throw new Error('the publish sent no commit');
    return {
      publish_archive_mb: round1((await stat(archive)).size / 1e6),
      publish_ms: Math.round(result.ms),
      publish_peak_rss_mb: Math.round(result.peakRssMb),
    };
  } finally {
    await hub.close();
    await rm(out, { recursive: true, force: true });
  }
}
