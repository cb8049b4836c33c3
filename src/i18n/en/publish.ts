/** English: /publish. Keys: `publish.*`. */
export const publish = {
  'publish.created': 'Created the model repository **{repo}**.',
  'publish.done': 'Published step {step} to **{repo}** in one commit ({files} files): {url}',
  'publish.unchanged': 'Step {step} is already on **{repo}** exactly as it would be published: no new commit. {url}',
} as const;
