import Replicate from 'replicate';
import sharp from 'sharp';
import yazl from 'yazl';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';

export const TEST_DESTINATION = 'kmplz-tests/style';

export async function zipBuffer(files: Record<string, Buffer | string>): Promise<Buffer> {
  const archive = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) archive.addBuffer(Buffer.from(data), name);
  archive.end();
  const chunks: Buffer[] = [];
  for await (const chunk of archive.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Trains a real (emulated) cog-sdxl LoRA and returns its weights URL and trained version: the
 * checkpoint that `/train` stores. Tests of generation start from one of these.
 */
export async function trainCheckpoint(emulator: ReplicateEmulator, steps = 100): Promise<{ weightsUrl: string; version: string; trainingId: string }> {
  const replicate = new Replicate({ auth: emulator.token, baseUrl: emulator.baseUrl, useFileOutput: false });
  const image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c04040' } }).png().toBuffer();
  const zip = await zipBuffer({ '0001.png': image, 'caption.csv': 'caption,image_file\n"KMPLZ, a drawing of a red square",0001.png\n' });
  const file = await replicate.files.create(new File([new Uint8Array(zip)], 'dataset.zip', { type: 'application/zip' }));
  const [owner = '', rest = ''] = emulator.refs.sdxl.split('/');
  const [name = '', version = ''] = rest.split(':');
  const created = await replicate.trainings.create(owner, name, version, {
    destination: TEST_DESTINATION,
    input: { input_images: file.urls.get, input_images_filetype: 'zip', token_string: 'KMPLZ', max_train_steps: steps, lr_scheduler: 'constant', seed: 7 },
  });
  for (;;) {
    const training = await replicate.trainings.get(created.id);
    if (training.status === 'succeeded') {
      const output = training.output as { weights: string; version: string };
      return { weightsUrl: output.weights, version: output.version, trainingId: created.id };
    }
    if (training.status === 'failed' || training.status === 'canceled') throw new Error(`test training ${training.status}: ${String(training.error)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
