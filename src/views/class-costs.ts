import { CAPTION_ESTIMATE_SECONDS } from '../captioning/captions.js';
import type { Config } from '../config.js';
import { estimateGenerationSeconds, formatUsd } from '../money/budget.js';
import { usdPerSecond } from '../money/prices.js';
import type { Trainer } from '../services/types.js';
import type { TrainingItem } from '../training/dataset-export.js';
import { ladderPlan, streamingPlan } from '../training/plan.js';
import { formatDuration } from './training-status.js';
import { estimateFor } from '../training/estimate.js';

/**
 * What each part of a lesson costs, from the same estimators the bot shows before paid work
 * (`/train`'s plan, the budget check of `/kmplz` and `/caption`), for the teacher's walkthrough
 * (docs/classroom.md, whose table a test keeps equal to this one). The class is the original
 * project's: 64 drawings, 1000 steps with a checkpoint every 250, pictures at /kmplz's defaults.
 */

export interface ActivityCost {
  activity: string;
  gpuSeconds: number;
  usd: number;
}

const DRAWINGS = 64;
const STUDENTS = 25;
const PICTURES_EACH = 6;
const PICTURE = { steps: 30, width: 1024, height: 1024 };
/** The original project's comparison: the same prompt at 20, 50 and 70 steps. */
const COMPARE_STEPS = [20, 50, 70];

export function classActivityCosts(config: Config): ActivityCost[] {
  const caption = `${config.TRIGGER_WORD}, a drawing of a girl`;
  const items: TrainingItem[] = Array.from({ length: DRAWINGS }, (_, i) => ({ image: { name: `drawing-${i}`, caption } as TrainingItem['image'], caption }));
  const ladder = { strategy: 'ladder', plan: ladderPlan } as unknown as Trainer;
  const streaming = { strategy: 'streaming', plan: streamingPlan } as unknown as Trainer;
  const picture = estimateGenerationSeconds(PICTURE.steps, PICTURE.width, PICTURE.height);
  const generation = usdPerSecond(config, 'generation');
  const captionSeconds = DRAWINGS * CAPTION_ESTIMATE_SECONDS;
  const compareSeconds = COMPARE_STEPS.reduce((sum, steps) => sum + estimateGenerationSeconds(steps, PICTURE.width, PICTURE.height), 0);
  // kmplz's own trainer is a model the teacher pushes: unless configured, priced as an unlisted
  // model (the H100 rate, the card its timing was measured on).
  const streamingConfig = config.REPLICATE_TRAINER_MODE === 'streaming' ? config : { ...config, REPLICATE_TRAINER: 'your-account/kmplz-trainer' };
  const trainings = [
    { trainer: ladder, label: 'ladder: 4 separate trainings of 250–1000 steps, whole epochs', config },
    { trainer: streaming, label: "streaming: one run of kmplz's own trainer", config: streamingConfig },
  ].map(({ trainer, label, config }) => {
    const estimate = estimateFor(trainer, config, items, 1000, 250);
    return { activity: `\`/train\`, 1000 steps, a checkpoint every 250, with 4 preview sheets (${label})`, gpuSeconds: estimate.gpuSeconds, usd: estimate.usd };
  });
  return [
    { activity: `\`/caption\` of ${DRAWINGS} drawings (BLIP)`, gpuSeconds: captionSeconds, usd: captionSeconds * usdPerSecond(config, 'captioning') },
    ...trainings,
    { activity: `one \`/kmplz\` picture (${PICTURE.steps} steps, ${PICTURE.width}×${PICTURE.height})`, gpuSeconds: picture, usd: picture * generation },
    { activity: `\`/compare\` of ${COMPARE_STEPS.join(' / ')} steps (3 pictures)`, gpuSeconds: compareSeconds, usd: compareSeconds * generation },
    {
      activity: `a lesson of play: ${STUDENTS} students × ${PICTURES_EACH} pictures`,
      gpuSeconds: STUDENTS * PICTURES_EACH * picture,
      usd: STUDENTS * PICTURES_EACH * picture * generation,
    },
  ];
}

/** The table as docs/classroom.md shows it. */
export function classCostTable(config: Config): string {
  const rows = classActivityCosts(config).map(({ activity, gpuSeconds, usd }) => `| ${activity} | ${formatDuration(gpuSeconds)} | ${formatUsd(usd)} |`);
  return ['| activity | GPU time | cost |', '|---|---|---|', ...rows].join('\n');
}
