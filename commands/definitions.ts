import { ApplicationCommandType, ContextMenuCommandBuilder, InteractionContextType, SlashCommandBuilder, type LocalizationMap, type SlashCommandIntegerOption } from 'discord.js';
import { GENERATION_BOUNDS, GENERATION_DEFAULTS } from '../src/generation/prompt.js';
import { t } from '../src/i18n/index.js';

/**
 * The slash commands, whose names and options are fixed from outside (docs/contract.md). They live apart from the
 * handlers so `npm run deploy` can register them without building the bot, and so the bounds
 * Discord enforces in its UI and the bounds the handlers check again (a raw payload can hold
 * anything) come from one place.
 */

export const bounds = {
  steps: { ...GENERATION_BOUNDS.steps, default: GENERATION_DEFAULTS.steps },
  guidance: { ...GENERATION_BOUNDS.guidance, default: GENERATION_DEFAULTS.guidance },
  strength: { ...GENERATION_BOUNDS.strength, default: GENERATION_DEFAULTS.strength },
  seed: GENERATION_BOUNDS.seed,
  size: { ...GENERATION_BOUNDS.size, default: GENERATION_DEFAULTS.width },
  prompt: { maxLength: 1000 },
  trainSteps: { min: 100, max: 5000, default: 1000 },
  checkpointEvery: { min: 50, max: 5000, default: 250 },
  /** Up to a week: a class that meets weekly can vote until the next lesson. */
  voteMinutes: { min: 1, max: 7 * 24 * 60 },
} as const;

/**
 * The Russian name and description of a command, subcommand or option: a Russian Discord client
 * shows these (the bot still receives the English names). Option names are the catalog's
 * `field.*` words where there is one, so the messages call options what the client shows.
 */
function ru<T extends { setNameLocalizations(map: LocalizationMap | null): T; setDescriptionLocalizations(map: LocalizationMap | null): T }>(
  builder: T,
  name: string,
  description: string,
): T {
  return builder.setNameLocalizations({ ru: name }).setDescriptionLocalizations({ ru: description });
}

type FieldName = 'prompt' | 'steps' | 'guidance' | 'strength' | 'negative' | 'seed' | 'width' | 'height' | 'checkpoint' | 'checkpoint_every' | 'vote_minutes';
const field = (name: FieldName): string => t('ru', `field.${name}`);

/** `width` and `height` of /kmplz: the same bounds, in pixels. */
const sizeOption = (name: 'width' | 'height', english: string, russian: string) => (o: SlashCommandIntegerOption) =>
  ru(o, field(name), `${russian} в пикселях (${bounds.size.min}–${bounds.size.max}, по умолчанию ${bounds.size.default})`)
    .setName(name)
    .setDescription(`${english} in pixels (${bounds.size.min}–${bounds.size.max}, default ${bounds.size.default})`)
    .setMinValue(bounds.size.min)
    .setMaxValue(bounds.size.max);

export const kmplzDefinition = ru(new SlashCommandBuilder(), 'kmplz', 'Нарисовать что-нибудь в обученном стиле — рядом с рисунками самого художника')
  .setName('kmplz')
  .setDescription('Draw something in the trained style, shown next to the artist’s own drawings')
  .addStringOption((o) =>
    ru(o, field('prompt'), 'Что нарисовать, например: грустная девочка в худи и джинсах')
      .setName('prompt')
      .setDescription('What to draw, e.g. a sad girl in a hoodie and jeans')
      .setRequired(true)
      .setMaxLength(bounds.prompt.maxLength),
  )
  .addIntegerOption((o) =>
    ru(o, field('steps'), `Шаги расшумления (${bounds.steps.min}–${bounds.steps.max}, по умолчанию ${bounds.steps.default})`)
      .setName('steps')
      .setDescription(`Denoising steps (${bounds.steps.min}–${bounds.steps.max}, default ${bounds.steps.default})`)
      .setMinValue(bounds.steps.min)
      .setMaxValue(bounds.steps.max),
  )
  .addNumberOption((o) =>
    ru(o, field('guidance'), `Насколько точно следовать запросу (${bounds.guidance.min}–${bounds.guidance.max}, по умолчанию ${bounds.guidance.default})`)
      .setName('guidance')
      .setDescription(`How closely to follow the prompt (${bounds.guidance.min}–${bounds.guidance.max}, default ${bounds.guidance.default})`)
      .setMinValue(bounds.guidance.min)
      .setMaxValue(bounds.guidance.max),
  )
  .addStringOption((o) =>
    ru(o, field('negative'), 'Чего не должно быть на картинке').setName('negative').setDescription('What to keep out of the picture').setMaxLength(bounds.prompt.maxLength),
  )
  .addIntegerOption((o) =>
    ru(o, field('seed'), 'Тот же сид + те же настройки = та же картинка')
      .setName('seed')
      .setDescription('Same seed + same settings = same picture')
      .setMinValue(bounds.seed.min)
      .setMaxValue(bounds.seed.max),
  )
  .addIntegerOption(sizeOption('width', 'Width', 'Ширина'))
  .addIntegerOption(sizeOption('height', 'Height', 'Высота'))
  .addStringOption((o) =>
    ru(o, field('checkpoint'), 'Чекпоинт (шаг обучения); по умолчанию — выбор класса')
      .setName('checkpoint')
      .setDescription('Checkpoint (training step) to use; default: the class’s pick')
      .setAutocomplete(true),
  )
  .addNumberOption((o) =>
    ru(o, field('strength'), `Сила стиля, масштаб LoRA (${bounds.strength.min}–${bounds.strength.max}, по умолчанию ${bounds.strength.default})`)
      .setName('strength')
      .setDescription(`How strongly the trained style applies: the LoRA scale (${bounds.strength.min}–${bounds.strength.max}, default ${bounds.strength.default})`)
      .setMinValue(bounds.strength.min)
      .setMaxValue(bounds.strength.max),
  )
  .toJSON();

export const captionDefinition = ru(new SlashCommandBuilder(), 'подпись', 'Подписать картинку через BLIP или подписать все рисунки датасета без подписи')
  .setName('caption')
  .setDescription('Caption one image with BLIP, or caption every uncaptioned dataset image for review')
  .addAttachmentOption((o) => ru(o, 'картинка', 'Картинка для подписи (без неё — подписать датасет)').setName('image').setDescription('An image to caption (leave out to caption the dataset)'))
  .toJSON();

/**
 * `/dataset add`'s picture options. Discord has no list option, so one attachment option per
 * picture, as many as one message can carry.
 */
export const DATASET_IMAGE_OPTIONS = ['image', 'image2', 'image3', 'image4', 'image5', 'image6', 'image7', 'image8', 'image9', 'image10'] as const;

export const datasetDefinition = ru(new SlashCommandBuilder(), 'датасет', 'Рисунки-образцы этого сервера')
  .setName('dataset')
  .setDescription('The reference art of this server')
  .addSubcommand((s) =>
    DATASET_IMAGE_OPTIONS.reduce(
      (sub, name, index) =>
        sub.addAttachmentOption((o) =>
          ru(o, `картинка${index ? index + 1 : ''}`, index ? 'Ещё рисунок' : 'Рисунок').setName(name).setDescription(index ? 'Another drawing' : 'A drawing'),
        ),
      ru(s, 'добавить', 'Добавить рисунки: .zip с картинками и/или до 10 картинок')
        .setName('add')
        .setDescription('Add drawings: a .zip of images and/or up to 10 images')
        .addAttachmentOption((o) => ru(o, 'архив', '.zip с рисунками').setName('archive').setDescription('A .zip of drawings')),
    ),
  )
  .addSubcommand((s) => ru(s, 'список', 'Обзор датасета: все рисунки и сколько их').setName('list').setDescription('A contact sheet of the dataset with counts'))
  .addSubcommand((s) =>
    ru(s, 'удалить', 'Удалить один рисунок')
      .setName('remove')
      .setDescription('Remove one drawing')
      .addStringOption((o) => ru(o, 'название', 'Название рисунка').setName('name').setDescription('The drawing’s name').setRequired(true).setAutocomplete(true)),
  )
  .addSubcommand((s) =>
    ru(s, 'очистить', 'Удалить все рисунки (сначала спросит)')
      .setName('clear')
      .setDescription('Remove every drawing (asks first)')
      .addBooleanOption((o) =>
        ru(o, 'всё', 'Удалить всё, что бот хранит об этом сервере: рисунки, обучения, голоса, картинки, запросы')
          .setName('everything')
          .setDescription('Remove everything kmplz keeps of this server: drawings, trainings, votes, pictures, prompts'),
      ),
  )
  .toJSON();

/**
 * The context-menu twin of `/dataset add`: right-click (long-press) a message → Apps → this, and
 * every picture of that message is added. Students post up to 10 pictures a message anyway, and
 * each file only has to fit their own upload limit (10 MiB without Nitro), not one zip of them all.
 */
export const addToDatasetMenuDefinition = new ContextMenuCommandBuilder()
  .setName('Add to kmplz dataset')
  .setNameLocalizations({ ru: 'Добавить в датасет kmplz' })
  .setType(ApplicationCommandType.Message)
  // A dataset belongs to a server: the menu is not offered in direct messages.
  .setContexts(InteractionContextType.Guild)
  .toJSON();

export const trainDefinition = ru(new SlashCommandBuilder(), 'обучить', 'Обучить стиль на датасете, с превью каждого чекпоинта')
  .setName('train')
  .setDescription('Train the style on the dataset, with a preview of every checkpoint')
  .addAttachmentOption((o) => ru(o, 'архив', '.zip с рисунками, которые сначала добавятся в датасет').setName('archive').setDescription('A .zip of drawings to add to the dataset first'))
  .addIntegerOption((o) =>
    ru(o, field('steps'), `Шаги обучения (по умолчанию ${bounds.trainSteps.default})`)
      .setName('steps')
      .setDescription(`Training steps (default ${bounds.trainSteps.default})`)
      .setMinValue(bounds.trainSteps.min)
      .setMaxValue(bounds.trainSteps.max),
  )
  .addIntegerOption((o) =>
    ru(o, field('checkpoint_every'), `Чекпоинт каждые N шагов (по умолчанию ${bounds.checkpointEvery.default})`)
      .setName('checkpoint_every')
      .setDescription(`A checkpoint every N steps (default ${bounds.checkpointEvery.default})`)
      .setMinValue(bounds.checkpointEvery.min)
      .setMaxValue(bounds.checkpointEvery.max),
  )
  .addBooleanOption((o) =>
    ru(o, 'вслепую', 'Превью под буквами, шаги скрыты до конца голосования').setName('blind').setDescription('Show the previews by letter, steps hidden until voting closes'),
  )
  .addIntegerOption((o) =>
    ru(o, field('vote_minutes'), 'Сколько минут голосовать после последнего чекпоинта (по умолчанию сутки), потом объявить победителя')
      .setName('vote_minutes')
      .setDescription('Minutes voting stays open after the last checkpoint (default: 24 hours), then the winner is named')
      .setMinValue(bounds.voteMinutes.min)
      .setMaxValue(bounds.voteMinutes.max),
  )
  .toJSON();

export const voteDefinition = ru(new SlashCommandBuilder(), 'голосовать', 'Проголосовать за лучший чекпоинт текущего или последнего обучения')
  .setName('vote')
  .setDescription('Vote for the best checkpoint of the running or last training')
  .addIntegerOption((o) =>
    ru(o, field('checkpoint'), 'Шаг чекпоинта').setName('checkpoint').setDescription('The checkpoint’s step').setRequired(true).setMinValue(1).setAutocomplete(true),
  )
  .toJSON();

export const checkpointsDefinition = ru(new SlashCommandBuilder(), 'чекпоинты', 'Чекпоинты последнего обучения, их голоса и какой из них использует /kmplz')
  .setName('checkpoints')
  .setDescription('The checkpoints of the last training, their votes, and which one /kmplz uses')
  .addIntegerOption((o) =>
    ru(o, 'выбрать', 'Для тренеров: /kmplz будет рисовать с этим шагом, как бы ни проголосовали')
      .setName('use')
      .setDescription('Trainers: make /kmplz use this step, whatever the vote')
      .setMinValue(1)
      .setAutocomplete(true),
  )
  .toJSON();

export const publishDefinition = ru(new SlashCommandBuilder(), 'опубликовать', 'Для тренеров: LoRA класса на Hugging Face Hub — веса, архив, карточка модели и картинки')
  .setName('publish')
  .setDescription('Trainers: the class’s LoRA on the Hugging Face Hub — weights, archive, model card and pictures')
  .addIntegerOption((o) =>
    ru(o, field('checkpoint'), 'Шаг чекпоинта; по умолчанию тот, с которым рисует /kmplz')
      .setName('checkpoint')
      .setDescription('The checkpoint’s step; default the one /kmplz uses')
      .setMinValue(1)
      .setAutocomplete(true),
  )
  .addStringOption((o) =>
    ru(o, 'репозиторий', 'Репозиторий модели owner/name; по умолчанию HF_PUBLISH_REPO или <пользователь токена>/kmplz-<сервер>')
      .setName('repo')
      .setDescription('The model repository owner/name; default HF_PUBLISH_REPO or <the token’s user>/kmplz-<server>')
      .setMaxLength(96),
  )
  .addBooleanOption((o) => ru(o, 'закрытый', 'Создать репозиторий закрытым (если его ещё нет)').setName('private').setDescription('Create the repository private (when it does not exist yet)'))
  .addStringOption((o) =>
    ru(o, 'автор', 'Как указать художника в карточке модели; по умолчанию ARTIST_CREDIT')
      .setName('credit')
      .setDescription('How the model card credits the artist; default ARTIST_CREDIT')
      .setMaxLength(300),
  )
  .toJSON();

export const compareDefinition = ru(new SlashCommandBuilder(), 'сравнить', 'Одна подписанная сетка: тот же запрос и сид при разных шагах, точности, силе или чекпоинтах')
  .setName('compare')
  .setDescription('One labelled grid of the same prompt and seed across steps, guidance, strength or checkpoints')
  .addStringOption((o) => ru(o, field('prompt'), 'Что нарисовать').setName('prompt').setDescription('What to draw').setRequired(true).setMaxLength(bounds.prompt.maxLength))
  .addStringOption((o) =>
    ru(o, 'ось', 'Что меняется от клетки к клетке')
      .setName('axis')
      .setDescription('What changes across the grid')
      .setRequired(true)
      .addChoices(
        { name: 'steps', value: 'steps', name_localizations: { ru: field('steps') } },
        { name: 'guidance', value: 'guidance', name_localizations: { ru: field('guidance') } },
        { name: 'strength', value: 'strength', name_localizations: { ru: field('strength') } },
        { name: 'checkpoint', value: 'checkpoint', name_localizations: { ru: field('checkpoint') } },
      ),
  )
  .addStringOption((o) => ru(o, 'значения', 'Через запятую, например 20,50,70').setName('values').setDescription('Comma list, e.g. 20,50,70').setRequired(true).setMaxLength(100))
  .toJSON();

export const showcaseDefinition = ru(new SlashCommandBuilder(), 'витрина', 'Отправить результат в витрину класса')
  .setName('showcase')
  .setDescription('Post a result to the class showcase channel')
  .addStringOption((o) => ru(o, 'ссылка', 'Ссылка на сообщение с результатом kmplz').setName('link').setDescription('Link to a kmplz result message'))
  .addAttachmentOption((o) => ru(o, 'картинка', 'Картинка для витрины').setName('image').setDescription('An image to showcase'))
  .toJSON();

export const helpDefinition = ru(new SlashCommandBuilder(), 'помощь', 'Что умеет kmplz, порядок работы и как дела на этом сервере')
  .setName('help')
  .setDescription('What kmplz does, the workflow, and where this server stands')
  .toJSON();
