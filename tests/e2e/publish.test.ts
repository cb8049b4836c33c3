import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/publishing/safetensors.js';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import { startHubEmulator, type HubEmulator, type HubToken } from '../emulators/hub/index.js';
import { readTar } from '../emulators/replicate/archive.js';
import { CLASS_DRAWINGS } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';
import { buttonOf, eventually, isFinal, previewsIn, startTraining, TRAINER_ROLE } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

const SHOWCASE_ID = '1300000000000000001';
const TOKEN = 'hf_class_write_token';
const tokens: Record<string, HubToken> = { [TOKEN]: { user: 'teacher', role: 'write' } };
const REPO = 'teacher/kmplz-art-class-7b';

let hub: HubEmulator;
let world: World;
let discord: DiscordEmulator;
/** The bot's clock runs this far ahead of the real one: a test moves it past the voting deadline. */
let ahead = 0;
let trainingId = '';

beforeAll(async () => {
  hub = await startHubEmulator({ tokens });
  world = await startWorld({
    discord: { guilds: [{ name: 'Art Class 7B', roles: [{ id: TRAINER_ROLE, name: 'Trainer' }], channels: [{ name: 'general' }, { id: SHOWCASE_ID, name: 'showcase' }] }] },
    dataset: CLASS_DRAWINGS,
    env: { TRAINER_ROLE_ID: TRAINER_ROLE, SHOWCASE_CHANNEL_ID: SHOWCASE_ID, HF_TOKEN: TOKEN, HF_HUB_URL: hub.url, ARTIST_CREDIT: 'kimplz' },
    deps: { clock: { now: () => Date.now() + ahead }, training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20, tallyEditIntervalMs: 50, deadlineSweepMs: 50 } },
  });
  ({ discord } = world);
});
afterAll(async () => {
  await world?.stop();
  await hub?.close();
});
afterEach(() => world.expectCleanRequests());

const ctx = () => world.bot.app.context;
const guildId = () => discord.guild().id;
const publish = async (options: Record<string, string | number | boolean> = {}, user: keyof DiscordEmulator['users'] = 'bob') =>
  (await discord.slash({ name: 'publish', user: discord.users[user], options })).waitForOriginal((m) => !m.loading, 20_000);
const fromHub = async (file: string) => Buffer.from(await (await fetch(`${hub.url}/${REPO}/resolve/main/${file}`)).arrayBuffer());
const kept = async () => (await readdir(path.join(world.bot.dataDir, 'guilds', guildId(), 'trainings', trainingId, 'checkpoints')).catch(() => [] as string[])).filter((f) => f.endsWith('.tar')).sort();

describe('/publish', () => {
  it('train → vote → /publish: one commit with the weights, the archive, the card and the pictures; again: no commit', async () => {
    const started = await startTraining(discord, { steps: 750, checkpoint_every: 250, vote_minutes: 10 });
    trainingId = started.trainingId;
    await discord.waitForMessage(started.threadId, isFinal, 30_000);
    // While the vote is open every checkpoint's archive is kept.
    await eventually(async () => ((await kept()).length === 3 ? true : undefined), 'three kept archives');

    const p250 = previewsIn(discord, started.threadId).find((p) => p.step === 250)!.message;
    for (const user of ['alice', 'carol'] as const) await (await discord.button({ customId: buttonOf(p250, 'train:vote:'), message: p250, user: discord.users[user] })).waitForOriginal();
    ahead = 11 * 60_000;
    await eventually(async () => ((await ctx().training.repository.activeCheckpoint(guildId()))?.step === 250 ? true : undefined), 'the vote’s winner');
    // Voting closed: the chosen (250) and the last (750) are kept, 500 is let go.
    await eventually(async () => ((await kept()).join() === '250.tar,750.tar' ? true : undefined), 'retention after the vote');

    // A showcase picture made with the chosen checkpoint.
    const picture = await (await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat on a roof', steps: 3, seed: 5 } })).waitForOriginal((m: StoredMessage) => m.attachments.length > 0, 15_000);
    const star = await discord.button({ customId: buttonOf(picture, 'kmplz:showcase:'), message: picture, user: discord.users.carol });
    expect((await star.waitForOriginal()).content).toMatch(/Posted to the showcase/);

    const answer = await publish();
    expect(answer.ephemeral).toBe(true);
    expect(answer.content).toContain(`Created the model repository **${REPO}**`);
    expect(answer.content).toContain(`Published step 250 to **${REPO}** in one commit`);
    expect(answer.content).toContain(`${hub.url}/${REPO}`);

    const repo = hub.repos.get(REPO)!;
    expect(repo.commits).toHaveLength(1);
    const paths = [...repo.files.keys()].sort();
    expect(paths).toEqual(
      expect.arrayContaining(['README.md', 'embeddings.safetensors', 'pytorch_lora_weights.safetensors', 'trained_model.tar', 'images/step-250/preview-step-250.png']),
    );
    expect(paths.filter((p) => /^images\/step-250\/showcase-.+\.png$/.test(p))).toHaveLength(1);
    expect(repo.files.get('pytorch_lora_weights.safetensors')?.lfs).toBeDefined();

    // The card's front matter parses and names the trigger word and the base model; its widget points at the pictures.
    const card = (await fromHub('README.md')).toString('utf8');
    const front = load(/^---\n([\s\S]*?)\n---\n/.exec(card)![1]!) as { base_model: string; instance_prompt: string; tags: string[]; license: string; widget: { text: string; output: { url: string } }[] };
    expect(front.base_model).toBe('stabilityai/stable-diffusion-xl-base-1.0');
    expect(front.instance_prompt).toBe('KMPLZ');
    expect(front.tags).toEqual(expect.arrayContaining(['lora', 'stable-diffusion-xl']));
    expect(front.license).toBe('openrail++');
    expect(front.widget.map((w) => w.output.url).every((url) => paths.includes(url))).toBe(true);
    expect(front.widget.map((w) => w.text)).toEqual(['KMPLZ, a drawing of a sad girl in a hoodie and jeans', 'KMPLZ, a cat on a roof']);
    expect(card).toContain('| 250 (published) | 2 |');
    expect(card).toContain('kimplz');
    expect(card).toContain(`pipe.load_lora_weights("${REPO}", weight_name="pytorch_lora_weights.safetensors")`);

    // The weights decode with the diffusers LoRA keys of the emulated trainer's processors (rank 32).
    const { tensors } = readSafetensors(await fromHub('pytorch_lora_weights.safetensors'));
    const attn2 = 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2';
    expect(tensors.size).toBe(16);
    expect(tensors.get(`${attn2}.to_k.lora_A.weight`)?.shape).toEqual([32, 2048]);
    expect(tensors.get(`${attn2}.to_out.0.lora_B.weight`)?.shape).toEqual([640, 32]);
    // The archive is the one Replicate trained for step 250, byte for byte.
    const record = await ctx().training.repository.load({ guildId: guildId(), trainingId: trainingId });
    const trained = Buffer.from(await (await fetch(record!.checkpoints.find((c) => c.step === 250)!.weightsUrl!)).arrayBuffer());
    expect((await fromHub('trained_model.tar')).equals(trained)).toBe(true);
    expect(readTar(trained).map((e) => e.name)).toContain('lora.safetensors');

    // The same checkpoint again: nothing is uploaded or committed.
    const before = hub.requests.length;
    expect((await publish()).content).toMatch(/Step 250 is already on .* no new commit/);
    expect(hub.repos.get(REPO)!.commits).toHaveLength(1);
    expect(hub.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/whoami-v2',
      'POST /api/repos/create',
      `POST /api/models/${REPO}/paths-info/main`,
    ]);

    // Another checkpoint: one more commit.
    expect((await publish({ checkpoint: 750 })).content).toContain(`Published step 750 to **${REPO}**`);
    expect(hub.repos.get(REPO)!.commits).toHaveLength(2);
    expect(load(/^---\n([\s\S]*?)\n---\n/.exec((await fromHub('README.md')).toString('utf8'))![1]!)).toMatchObject({ instance_prompt: 'KMPLZ' });
  });

  it('says plainly what is wrong, and changes nothing: not a trainer, the Hub down, someone else’s namespace, a read-only token', async () => {
    const commits = () => hub.repos.get(REPO)?.commits.length;
    const before = commits();
    expect((await publish({}, 'carol')).content).toMatch(/Only trainers/);

    hub.inject(503);
    const down = await publish();
    expect(down.ephemeral).toBe(true);
    expect(down.content).toMatch(/Hugging Face Hub cannot be reached right now .* Nothing was changed/);

    expect((await publish({ repo: 'someone-else/style' })).content).toMatch(/may not write to \*\*someone-else\*\*/);
    expect(hub.repos.has('someone-else/style')).toBe(false);
    expect((await publish({ repo: 'not a repo' })).content).toMatch(/not a repository name/);

    // Another trainer's publish is uploading (its mark is set): refused, not raced.
    await ctx().store.set(keys.publishing(guildId()), { by: 'someone', at: Date.now() });
    expect((await publish()).content).toMatch(/Another `\/publish` of this server is uploading/);
    await ctx().store.delete(keys.publishing(guildId()));

    tokens[TOKEN]!.role = 'read';
    try {
      expect((await publish()).content).toMatch(/read-only token/);
    } finally {
      tokens[TOKEN]!.role = 'write';
    }
    expect(commits()).toBe(before);
  });

  it('a published checkpoint still draws after Replicate deleted its weights and kmplz’s own copy is gone', async () => {
    const record = (await ctx().training.repository.load({ guildId: guildId(), trainingId }))!;
    const published = record.checkpoints.find((c) => c.step === 750)!.published!;
    // Pinned to the commit that published it: a later publish to the repo does not change what step 750 draws with.
    expect(published.archiveUrl).toMatch(new RegExp(`^${hub.url}/${REPO}/resolve/[0-9a-f]{40}/trained_model\\.tar$`));
    for (const run of record.runs ?? []) world.replicate.removeData(run.id!);
    await rm(path.join(world.bot.dataDir, 'guilds', guildId(), 'trainings', trainingId, 'checkpoints'), { recursive: true, force: true });

    expect((await (await discord.slash({ name: 'checkpoints', user: discord.users.bob, options: { use: 750 } })).waitForOriginal((m) => !m.loading)).content).toMatch(/step 750/);
    const listed = (await (await discord.slash({ name: 'checkpoints' })).waitForOriginal((m) => !m.loading)).embeds[0]?.description ?? '';
    expect(listed).toMatch(new RegExp(`step 750\\*\\* — .*\\[on the Hub\\]\\(${hub.url}/${REPO}\\)`));
    expect(listed).not.toMatch(/step 500\*\* — .*on the Hub/);
    const before = hub.requests.length;
    const picture = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a tree by a lake', steps: 3, seed: 9 } })).waitForOriginal((m: StoredMessage) => m.attachments.length > 0, 15_000);
    expect(picture.embeds[0]?.fields?.find((f) => f.name === 'checkpoint')?.value).toBe('step 750');
    const prediction = [...world.replicate.predictions.values()].at(-1)!;
    expect(prediction.input.replicate_weights).toBe(published.archiveUrl);
    // The generator fetched the archive from the Hub (through its storage redirect).
    expect(hub.requests.slice(before).some((r) => r.method === 'GET' && r.path.includes('/resolve/') && r.status === 302)).toBe(true);
  });
});
