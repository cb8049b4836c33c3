/**
 * Every key kmplz stores, in one place: the layout of the store is read here and nowhere else.
 *
 * A server's data lives under `guild:<id>:` (so `npm run forget` and `/dataset clear
 * everything:true` find all of it by prefix, src/privacy/forget.ts); what belongs to the whole
 * bot (the lists a restarted process takes up, webhook marks, Cog leases) lives outside it. The
 * store adds its own `kmplz:` prefix in the backend. Each record has one owner that reads and
 * writes it (a repository or a module named beside its key); everyone else asks that owner.
 */
export const keys = {
  /** The prefix of every key of one server (what `npm run forget` deletes). */
  guild: (guildId: string) => `guild:${guildId}:`,

  // ---- trainings (owner: src/training) ----
  training: (guildId: string, trainingId: string) => `guild:${guildId}:training:${trainingId}`,
  lastTraining: (guildId: string) => `guild:${guildId}:training:last`,
  /** The checkpoint `/kmplz` generates with. */
  activeCheckpoint: (guildId: string) => `guild:${guildId}:checkpoint:active`,
  /** A `/train` that waits for its Start button. */
  draft: (guildId: string, trainingId: string) => `guild:${guildId}:training:${trainingId}:draft`,
  /** The id of the training running in this server: one at a time. */
  running: (guildId: string) => `guild:${guildId}:training:running`,
  /** Trainings some run of the bot has to follow to their end. */
  followed: () => 'trainings:followed',
  /** Set before posting a message of a training (`what`: a preview's step, `status`, `final`…). */
  message: (guildId: string, trainingId: string, what: string) => `guild:${guildId}:training:${trainingId}:message:${what}`,
  /** Trainings whose voting deadline is still to be processed: kept so a restarted bot announces the result. */
  votingDeadlines: () => 'trainings:voting-deadlines',
  /** Set once a run's billed GPU time is added to the month's spend. */
  runSpend: (guildId: string, trainingId: string, runId: string) => `guild:${guildId}:training:${trainingId}:spent:${runId}`,
  /** Which kept archive `GET /checkpoints/<token>.tar` serves (kept by src/training/checkpoint-archives.ts through the repository). */
  archiveToken: (token: string) => `checkpoint-archive:${token}`,

  // ---- pictures (owner: src/generation) ----
  job: (guildId: string, jobId: string) => `guild:${guildId}:job:${jobId}`,
  /** Identical requests with a chosen seed → the job that already made that picture. */
  cachedJob: (guildId: string, fingerprint: string) => `guild:${guildId}:generation:${fingerprint}`,
  /** Jobs accepted but not finished, so a restarted bot can take them up again. */
  unfinishedJobs: () => 'jobs:unfinished',
  /** Ids of the server's jobs posted to the showcase, in order (`/publish` puts their pictures on the Hub). */
  showcased: (guildId: string) => `guild:${guildId}:showcase:jobs`,
  /** Set while one picture or drawing (`what`) is being posted to the showcase: posted once. */
  showcasePost: (guildId: string, what: string) => `guild:${guildId}:showcased:${what}`,

  // ---- the dataset (owner: src/dataset) ----
  dataset: (guildId: string) => `guild:${guildId}:dataset`,
  /** A `/dataset clear` waiting for its confirmation button. */
  datasetClear: (guildId: string, token: string) => `guild:${guildId}:dataset-clear:${token}`,

  // ---- money (owner: src/money/budget.ts) ----
  /** A server's GPU time and dollars in one calendar month (`YYYY-MM`; `''` gives the prefix of every month). */
  spend: (guildId: string, month: string) => `guild:${guildId}:spend:${month}`,

  // ---- the Hub ----
  /** Held while a `/publish` runs: one at a time per server. */
  publishing: (guildId: string) => `guild:${guildId}:publishing`,

  // ---- webhooks and own GPUs (owners: src/http, src/services/cog) ----
  /** A Replicate webhook delivery already handled (deliveries are retried). */
  replicateWebhookSeen: (webhookId: string) => `webhook:replicate:${webhookId}`,
  /** Which process sends jobs to one Cog server (one job at a time per server). */
  cogLease: (url: string) => `cog:lease:${url}`,
  /** What kmplz knows of one prediction it sent to a Cog server (Cog has no GET). */
  cogPrediction: (id: string) => `cog:prediction:${id}`,
};
