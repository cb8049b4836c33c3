/**
 * English: /train: the confirmation, its buttons and the answers. Keys: `train.*`.
 */
export const train = {
  'train.confirm.title': 'Train {trigger} for {steps} steps?',
  'train.confirm.description': 'Nothing is paid for until you press **Start**.',
  'train.confirm.drawings': 'drawings',
  'train.confirm.drawings.added': '{count} ({added} just added)',
  'train.confirm.drawings.added-refused': '{count} ({added} just added, {refused} refused)',
  'train.confirm.captions-missing': 'captions missing',
  'train.confirm.captions-missing.value': '{count} — they would train as “{trigger}, a drawing”; caption them first for a better style',
  'train.confirm.checkpoints': 'checkpoints',
  'train.confirm.checkpoints.value': '{steps} — a preview of each to vote on',
  'train.confirm.vote': 'vote',
  'train.confirm.vote.blind': 'blind: previews by letter (A, B, C…), posted together at the end, steps revealed when voting closes',
  'train.confirm.vote.open': 'previews by step, as they come',
  'train.confirm.vote.minutes': 'open {minutes} min after the last checkpoint, or until a trainer closes it, then the winner is announced',
  'train.confirm.vote.default': 'open {hours} h after the last checkpoint, or until a trainer closes it, then the winner is announced',
  'train.confirm.vote.draws': 'meanwhile `/kmplz` draws with the leading checkpoint',
  'train.confirm.vote.draws.blind': '`/kmplz` switches to the winner when voting closes (until then no picture gives a step away)',
  'train.confirm.cost': 'estimated GPU time and cost',
  'train.confirm.cost.value': '{cost} (training {training}, previews {previews}); the last checkpoint in about {wall}',
  'train.confirm.strategy': 'strategy',
  'train.confirm.budget': 'budget',
  'train.confirm.budget.value': '{spent} of {budget} spent this month',
  'train.strategy.streaming': 'streaming: one run that hands over a checkpoint as it goes (GPU time = one training).',
  'train.strategy.ladder':
    'ladder: {runs} separate trainings of {steps} steps (same seed and images), side by side — each checkpoint is a training of its own length, not a point of one run. You wait as long as the longest, but pay for all of them ({factor}× one training).',
  'train.strategy.ladder.epochs':
    'The trainer runs whole epochs ({images} {images|drawing|drawings} at batch {batch} = {perEpoch} {perEpoch|step|steps} each), so they really train {trained} steps; the estimate counts those.',
  'train.button.start': 'Start',
  'train.button.caption': 'Caption the {count} first',
  'train.started': 'Training started. A preview of every checkpoint will be posted there to vote on.',
  'train.started.thread': 'Training started: follow it in <#{thread}>. A preview of every checkpoint will be posted there to vote on.',
  'train.discarded': 'Nothing was started, nothing was spent.',
  'train.captioning': '✍️ Captioning the drawings that have no caption…',
  'train.caption-failed': 'These could not be captioned and will train as “{trigger}, a drawing”: {names}.',
  'train.stopped':
    '🛑 <@{user}> stopped the training after step {step}: canceled the {steps}-step {count|run|runs}, which saves about {cost}. The checkpoints made so far stay up for the vote.',
  'train.canceled': 'Canceled: every run is being stopped, which saves about {cost}. The thread will say when it has.',
  'train.voting-closed': '🔒 Voting closed: the result is posted in the thread, and `/kmplz` draws with the winner.',
  'train.votes.none': 'No checkpoint yet: the first preview is on its way.',
  'train.votes.blind': 'Blind vote: the steps are revealed when voting closes.',
} as const;
