/**
 * English: checkpoint previews (`preview.*`), votes and the winner (`vote.*`, `winner.*`),
 * /checkpoints (`checkpoints.*`). Keys: `preview.*`, `vote.*`, `winner.*`, `checkpoints.*`.
 */
export const voting = {
  'preview.headline.hidden':
    '**Checkpoint {label}** — {trigger}, drawn with the same prompts and seeds as every checkpoint. Its step stays hidden until voting closes: vote for the pictures you like best.',
  'preview.headline.labelled':
    '**Checkpoint {label}: step {step}** of {steps} — {trigger} after {step} steps, drawn with the same prompts and seeds as every checkpoint. Vote for the one you like best.',
  'preview.headline':
    '**Checkpoint: step {step}** of {steps} — {trigger} after {step} steps, drawn with the same prompts and seeds as every checkpoint. Vote for the one you like best.',
  'preview.tally': '{count} {count|vote|votes}',
  'preview.tally.closed': '{count} {count|vote|votes} · voting closed',
  'preview.button.vote': 'Vote for {name}',
  'preview.button.stop': 'Stop after this one',
  'preview.not-drawn': 'Not drawn: {notes}',
  'preview.no-pictures': 'No preview pictures: {reason}',
  'preview.failure.internal': 'an error on kmplz’s side',
  'preview.failure.nsfw': 'blocked by the safety checker',
  'preview.failure.failed': 'failed ({detail})',
  'preview.failure.busy': 'the GPU service is busy',
  'vote.recorded': '🗳️ Your vote is on **{name}**. One vote per person: vote again to move it.',
  'vote.moved': '🗳️ Your vote is on **{name}** (moved from {from}). One vote per person: vote again to move it.',
  'winner.trainer': 'step {step} was picked by a trainer',
  'winner.no-votes': 'no votes: the last checkpoint ({step}) is used',
  'winner.most-votes': 'step {step} wins with {votes} {votes|vote|votes}',
  'winner.tie': 'tie between {leaders} with {votes} {votes|vote|votes} each: the later step ({step}) wins',
  'winner.no-checkpoints': 'no checkpoints yet',
  'checkpoints.title': 'Checkpoints of the last training',
  'checkpoints.running': 'Training is running: the first checkpoint is not ready yet. Its preview will be posted in the training thread.',
  'checkpoints.none':
    'No checkpoints yet: nothing has been trained on this server. Add drawings with `/dataset add`, caption them with `/caption`, then start `/train`.',
  'checkpoints.failed': 'The last training ended without a checkpoint. Why: {failure}. A trainer can start `/train` again once that is fixed.',
  'checkpoints.override': '`/kmplz` now uses the checkpoint at step {step}, picked by a trainer over the vote.',
  'checkpoints.override.lost': '⚠️ But step {step} can no longer be drawn with: kmplz keeps no copy of its archive (once the vote has closed it keeps only the checkpoint in use and the last), and Replicate has deleted its weights. Pick a step kmplz still keeps (the last one, or the one in use before), or train again.',
  'checkpoints.in-use': '← `/kmplz` uses this',
  'checkpoints.preview': 'preview',
  'checkpoints.published': 'on the Hub',
  'checkpoints.still-running': 'Training is still running: {steps} steps in all.',
  'checkpoints.posts-refused':
    '⚠️ Discord refused kmplz’s posts in {where} for missing permissions, so it stopped posting this training’s previews and results there. The checkpoints above are kept and usable; a server admin can give the kmplz role its permissions in that channel for the next training.',
  'checkpoints.closes': 'Voting closes <t:{at}:R>, or sooner if a trainer closes it in the thread. Until then `/kmplz` draws with the leader: **step {step}**.',
  'checkpoints.closes.blind': 'Voting closes <t:{at}:R>, or sooner if a trainer closes it in the thread: then the steps are revealed and `/kmplz` switches to the winner.',
  'checkpoints.footer': '{explanation} · one vote per person: /vote checkpoint:<step>',
  'checkpoints.footer.blind': 'blind vote: the steps are revealed when voting closes · vote with the buttons under the previews',
} as const;
