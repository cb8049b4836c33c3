import { SlashCommandBuilder } from 'discord.js';
import { GENERATION_BOUNDS, GENERATION_DEFAULTS } from '../src/generation/prompt.js';

/**
 * The slash commands of CONTRACT.md, names and options fixed there. They live apart from the
 * handlers so `npm run deploy` can register them without building the bot, and so the bounds
 * Discord enforces in its UI and the bounds the handlers check again (a raw payload can hold
 * anything) come from one place.
 */

export const bounds = {
  steps: { ...GENERATION_BOUNDS.steps, default: GENERATION_DEFAULTS.steps },
  guidance: { ...GENERATION_BOUNDS.guidance, default: GENERATION_DEFAULTS.guidance },
  seed: GENERATION_BOUNDS.seed,
  size: { ...GENERATION_BOUNDS.size, default: GENERATION_DEFAULTS.width },
  prompt: { maxLength: 1000 },
  trainSteps: { min: 100, max: 5000, default: 1000 },
  checkpointEvery: { min: 50, max: 5000, default: 250 },
  /** Up to a week: a class that meets weekly can vote until the next lesson. */
  voteMinutes: { min: 1, max: 7 * 24 * 60 },
} as const;

export const kmplzDefinition = new SlashCommandBuilder()
  .setName('kmplz')
  .setDescription('Draw something in the trained style, shown next to the artist’s own drawings')
  .addStringOption((o) => o.setName('prompt').setDescription('What to draw, e.g. a sad girl in a hoodie and jeans').setRequired(true).setMaxLength(bounds.prompt.maxLength))
  .addIntegerOption((o) =>
    o.setName('steps').setDescription(`Denoising steps (${bounds.steps.min}–${bounds.steps.max}, default ${bounds.steps.default})`).setMinValue(bounds.steps.min).setMaxValue(bounds.steps.max),
  )
  .addNumberOption((o) =>
    o.setName('guidance').setDescription(`How closely to follow the prompt (${bounds.guidance.min}–${bounds.guidance.max}, default ${bounds.guidance.default})`).setMinValue(bounds.guidance.min).setMaxValue(bounds.guidance.max),
  )
  .addStringOption((o) => o.setName('negative').setDescription('What to keep out of the picture').setMaxLength(bounds.prompt.maxLength))
  .addIntegerOption((o) => o.setName('seed').setDescription('Same seed + same settings = same picture').setMinValue(bounds.seed.min).setMaxValue(bounds.seed.max))
  .addIntegerOption((o) => o.setName('width').setDescription(`Width in pixels (${bounds.size.min}–${bounds.size.max}, default ${bounds.size.default})`).setMinValue(bounds.size.min).setMaxValue(bounds.size.max))
  .addIntegerOption((o) => o.setName('height').setDescription(`Height in pixels (${bounds.size.min}–${bounds.size.max}, default ${bounds.size.default})`).setMinValue(bounds.size.min).setMaxValue(bounds.size.max))
  .addStringOption((o) => o.setName('checkpoint').setDescription('Checkpoint (training step) to use; default: the class’s pick').setAutocomplete(true))
  .toJSON();

export const captionDefinition = new SlashCommandBuilder()
  .setName('caption')
  .setDescription('Caption one image with BLIP, or caption every uncaptioned dataset image for review')
  .addAttachmentOption((o) => o.setName('image').setDescription('An image to caption (leave out to caption the dataset)'))
  .toJSON();

export const datasetDefinition = new SlashCommandBuilder()
  .setName('dataset')
  .setDescription('The reference art of this server')
  .addSubcommand((s) =>
    s
      .setName('add')
      .setDescription('Add drawings: a .zip of images and/or one image')
      .addAttachmentOption((o) => o.setName('archive').setDescription('A .zip of drawings'))
      .addAttachmentOption((o) => o.setName('image').setDescription('One drawing')),
  )
  .addSubcommand((s) => s.setName('list').setDescription('A contact sheet of the dataset with counts'))
  .addSubcommand((s) =>
    s
      .setName('remove')
      .setDescription('Remove one drawing')
      .addStringOption((o) => o.setName('name').setDescription('The drawing’s name').setRequired(true).setAutocomplete(true)),
  )
  .addSubcommand((s) => s.setName('clear').setDescription('Remove every drawing (asks first)'))
  .toJSON();

export const trainDefinition = new SlashCommandBuilder()
  .setName('train')
  .setDescription('Train the style on the dataset, with a preview of every checkpoint')
  .addAttachmentOption((o) => o.setName('archive').setDescription('A .zip of drawings to add to the dataset first'))
  .addIntegerOption((o) =>
    o.setName('steps').setDescription(`Training steps (default ${bounds.trainSteps.default})`).setMinValue(bounds.trainSteps.min).setMaxValue(bounds.trainSteps.max),
  )
  .addIntegerOption((o) =>
    o
      .setName('checkpoint_every')
      .setDescription(`A checkpoint every N steps (default ${bounds.checkpointEvery.default})`)
      .setMinValue(bounds.checkpointEvery.min)
      .setMaxValue(bounds.checkpointEvery.max),
  )
  .addBooleanOption((o) => o.setName('blind').setDescription('Show the previews by letter, steps hidden until voting closes'))
  .addIntegerOption((o) =>
    o
      .setName('vote_minutes')
      .setDescription('Keep voting open this many minutes after the last checkpoint, then announce the winner')
      .setMinValue(bounds.voteMinutes.min)
      .setMaxValue(bounds.voteMinutes.max),
  )
  .toJSON();

export const voteDefinition = new SlashCommandBuilder()
  .setName('vote')
  .setDescription('Vote for the best checkpoint of the running or last training')
  .addIntegerOption((o) => o.setName('checkpoint').setDescription('The checkpoint’s step').setRequired(true).setMinValue(1).setAutocomplete(true))
  .toJSON();

export const checkpointsDefinition = new SlashCommandBuilder()
  .setName('checkpoints')
  .setDescription('The checkpoints of the last training, their votes, and which one /kmplz uses')
  .addIntegerOption((o) => o.setName('use').setDescription('Trainers: make /kmplz use this step, whatever the vote').setMinValue(1).setAutocomplete(true))
  .toJSON();

export const compareDefinition = new SlashCommandBuilder()
  .setName('compare')
  .setDescription('One labelled grid of the same prompt and seed across steps, guidance or checkpoints')
  .addStringOption((o) => o.setName('prompt').setDescription('What to draw').setRequired(true).setMaxLength(bounds.prompt.maxLength))
  .addStringOption((o) =>
    o
      .setName('axis')
      .setDescription('What changes across the grid')
      .setRequired(true)
      .addChoices({ name: 'steps', value: 'steps' }, { name: 'guidance', value: 'guidance' }, { name: 'checkpoint', value: 'checkpoint' }),
  )
  .addStringOption((o) => o.setName('values').setDescription('Comma list, e.g. 20,50,70').setRequired(true).setMaxLength(100))
  .toJSON();

export const showcaseDefinition = new SlashCommandBuilder()
  .setName('showcase')
  .setDescription('Post a result to the class showcase channel')
  .addStringOption((o) => o.setName('link').setDescription('Link to a kmplz result message'))
  .addAttachmentOption((o) => o.setName('image').setDescription('An image to showcase'))
  .toJSON();

export const helpDefinition = new SlashCommandBuilder()
  .setName('help')
  .setDescription('What kmplz does, the workflow, and where this server stands')
  .toJSON();
