import { describe, expect, it } from 'vitest';
import { ConversionError, convertCogSdxlArchive, diffusersKeyOf } from '../../src/publishing/convert.js';
import { readSafetensors, SafetensorsError, writeSafetensors } from '../../src/publishing/safetensors.js';
import { readTarFiles, TarError } from '../../src/publishing/tar.js';
import { safetensorsWithMetadata, writeTar } from '../emulators/replicate/archive.js';
import { cogLoraShapes, sdxlAttentionProcessors } from '../emulators/replicate/lora.js';

const archive = (lora: Map<string, number[]>, extra: { name: string; data: Buffer }[] = []) =>
  writeTar([
    { name: 'lora.safetensors', data: safetensorsWithMetadata({ step: '500' }, lora) },
    { name: 'embeddings.pti', data: safetensorsWithMetadata({}, new Map([['text_encoders_0', [2, 768]], ['text_encoders_1', [2, 1280]]])) },
    { name: 'special_params.json', data: Buffer.from('{"KMPLZ": "<s0><s1>"}') },
    ...extra,
  ]);

describe('safetensors', () => {
  it('writes what it reads: names, dtypes, shapes, bytes and metadata; the header is 8-byte aligned', () => {
    const a = { dtype: 'F32', shape: [2, 3], data: Buffer.from(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer) };
    const b = { dtype: 'F16', shape: [1], data: Buffer.from([0, 60]) };
    const file = writeSafetensors(new Map([['a', a], ['b', b]]), { format: 'pt' });
    expect(Number(file.readBigUInt64LE(0)) % 8).toBe(0);
    const back = readSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect([...back.tensors.keys()]).toEqual(['a', 'b']);
    expect(back.tensors.get('a')).toEqual(a);
    expect(back.tensors.get('b')?.data.equals(b.data)).toBe(true);
  });

  it('refuses a header past the end, data outside the file, and a shape that does not match its bytes', () => {
    const good = writeSafetensors(new Map([['a', { dtype: 'F32', shape: [2], data: Buffer.alloc(8) }]]));
    const lying = Buffer.from(good);
    lying.writeBigUInt64LE(BigInt(good.length));
    expect(() => readSafetensors(lying)).toThrow(SafetensorsError);
    expect(() => readSafetensors(good.subarray(0, good.length - 4))).toThrow(/outside the file/);
    const header = JSON.stringify({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } });
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    expect(() => readSafetensors(Buffer.concat([length, Buffer.from(header), Buffer.alloc(8)]))).toThrow(/8 bytes for shape \[3\]/);
  });
});

describe('tar', () => {
  it('reads the regular files of a ustar archive and checks the header checksum', () => {
    const tar = writeTar([{ name: 'a.txt', data: Buffer.from('hello') }, { name: 'dir/b.bin', data: Buffer.alloc(700, 1) }]);
    const files = readTarFiles(tar);
    expect([...files.keys()]).toEqual(['a.txt', 'dir/b.bin']);
    expect(files.get('a.txt')?.toString()).toBe('hello');
    expect(files.get('dir/b.bin')?.length).toBe(700);
    const corrupt = Buffer.from(tar);
    corrupt[0] = 'b'.charCodeAt(0);
    expect(() => readTarFiles(corrupt)).toThrow(TarError);
  });
});

describe('cog-sdxl → diffusers conversion', () => {
  it('maps keys as diffusers’ UNET_TO_DIFFUSERS does, under unet., without .processor', () => {
    const base = 'down_blocks.1.attentions.0.transformer_blocks.0.attn1';
    expect(diffusersKeyOf(`${base}.processor.to_q_lora.down.weight`)).toBe(`unet.${base}.to_q.lora_A.weight`);
    expect(diffusersKeyOf(`${base}.processor.to_k_lora.up.weight`)).toBe(`unet.${base}.to_k.lora_B.weight`);
    expect(diffusersKeyOf(`${base}.processor.to_out_lora.up.weight`)).toBe(`unet.${base}.to_out.0.lora_B.weight`);
    expect(diffusersKeyOf('mid_block.attentions.0.transformer_blocks.9.attn2.processor.to_v_lora.down.weight')).toBe('unet.mid_block.attentions.0.transformer_blocks.9.attn2.to_v.lora_A.weight');
    expect(diffusersKeyOf('text_encoder.something.weight')).toBeUndefined();
  });

  it('converts every tensor of a full SDXL rank-32 key set by name and shape, and the embeddings to clip_l/clip_g', () => {
    // Full key set, real shapes, rank 4 to keep the test small (shapes scale with the rank only).
    const shapes = cogLoraShapes(sdxlAttentionProcessors(), 4);
    expect(shapes.size).toBe(140 * 8);
    const out = convertCogSdxlArchive(archive(shapes));
    const { tensors, metadata } = readSafetensors(out.weights);
    expect(metadata).toEqual({ format: 'pt' });
    expect(out.tensors).toBe(1120);
    expect(out.rank).toBe(4);
    expect(out.tokenMap).toEqual({ KMPLZ: '<s0><s1>' });
    const cross = 'unet.up_blocks.0.attentions.2.transformer_blocks.9.attn2';
    expect(tensors.get(`${cross}.to_k.lora_A.weight`)?.shape).toEqual([4, 2048]);
    expect(tensors.get(`${cross}.to_k.lora_B.weight`)?.shape).toEqual([1280, 4]);
    expect(tensors.get(`${cross}.to_out.0.lora_A.weight`)?.shape).toEqual([4, 1280]);
    expect(tensors.get('unet.down_blocks.1.attentions.1.transformer_blocks.1.attn1.to_q.lora_A.weight')?.shape).toEqual([4, 640]);
    expect([...tensors.keys()].every((k) => /^unet\.(down_blocks|up_blocks|mid_block)\..*\.attn[12]\.(to_q|to_k|to_v|to_out\.0)\.lora_[AB]\.weight$/.test(k))).toBe(true);
    expect([...tensors.keys()].some((k) => k.includes('processor'))).toBe(false);
    const embeddings = readSafetensors(out.embeddings!).tensors;
    expect(embeddings.get('clip_l')?.shape).toEqual([2, 768]);
    expect(embeddings.get('clip_g')?.shape).toEqual([2, 1280]);
  });

  it('says what is wrong with an archive it cannot convert', () => {
    expect(() => convertCogSdxlArchive(writeTar([{ name: 'unet.safetensors', data: safetensorsWithMetadata({}) }]))).toThrow(/full UNet fine-tune/);
    expect(() => convertCogSdxlArchive(archive(new Map([['conv_in.weight', [1]]])))).toThrow(ConversionError);
    expect(() => convertCogSdxlArchive(archive(new Map()))).toThrow(/no tensors/);
  });

  it('an SDXL LoRA at cog-sdxl’s default rank 32 is 185,794,560 bytes of fp32 tensors (what each kept archive costs on disk)', () => {
    const elements = [...cogLoraShapes(sdxlAttentionProcessors(), 32).values()].reduce((sum, [a = 0, b = 0]) => sum + a * b, 0);
    expect(elements).toBe(46_448_640);
    expect(elements * 4).toBe(185_794_560);
  });
});
