/**
 * Picks the drawing from the dataset to show next to a generated image: the one whose
 * caption is most like the prompt (TF-IDF cosine similarity over the dataset's captions).
 */

export interface Reference {
  /** Unique within the dataset (the image's file name); also the tie-breaker. */
  name: string;
  caption: string;
}

export interface ReferenceMatch<Ref extends Reference> {
  reference: Ref;
  /** Cosine similarity in [0, 1]; 0 when nothing in the prompt matched any caption. */
  score: number;
  /** False when no caption shared a word with the prompt and the pick was seeded by the prompt. */
  matched: boolean;
}

/**
 * Words that say nothing about what is drawn: articles and prepositions, and the words every
 * caption of a drawing dataset shares ("a drawing of …").
 */
const STOP_WORDS = new Set([
  'a', 'an', 'the', 'of', 'in', 'on', 'at', 'to', 'by', 'for', 'from', 'with', 'and', 'or',
  'is', 'are', 'it', 'its', 'this', 'that', 'there', 'some',
  'drawing', 'sketch', 'painting', 'picture', 'image', 'illustration', 'style',
]);

/**
 * Lowercases, splits on anything that is not a letter or digit, drops the trigger word and
 * stop words, and folds simple English plurals (girls → girl, boxes → box), so that a prompt
 * and a caption meet on the words that describe the subject.
 */
export function tokenize(text: string, triggerWord: string): string[] {
  const trigger = triggerWord.toLowerCase();
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '' && word !== trigger)
    .map(stem)
    .filter((word) => !STOP_WORDS.has(word));
}

/**
 * Without a dictionary, "-ies" cannot tell puppies (puppy) from hoodies (hoodie), so both
 * "-ies" and "-ie" fold to "-y": puppy, puppies, hoodie and hoodies meet as puppy and hoody.
 * The stems are only compared with each other, never shown.
 */
function stem(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && word.endsWith('ie')) return `${word.slice(0, -2)}y`;
  if (word.length > 4 && /(?:ch|sh|x|ss|z)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !/(?:ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}

type Vector = Map<string, number>;

/**
 * Builds the index once per dataset; `match` is then cheap per prompt.
 * IDF is smoothed (`ln((1 + N) / (1 + df)) + 1`) so that a word found in every caption still
 * counts a little instead of vanishing.
 */
export function createReferenceMatcher<Ref extends Reference>(
  references: readonly Ref[],
  { triggerWord }: { triggerWord: string },
): (prompt: string) => ReferenceMatch<Ref> | undefined {
  const sorted = [...references].sort((a, b) => compareNames(a.name, b.name));
  const documents = sorted.map((reference) => termCounts(tokenize(reference.caption, triggerWord)));

  const documentFrequency = new Map<string, number>();
  for (const counts of documents) {
    for (const term of counts.keys()) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  const idf = (term: string) => Math.log((1 + sorted.length) / (1 + (documentFrequency.get(term) ?? 0))) + 1;
  const weigh = (counts: Map<string, number>): Vector =>
    new Map([...counts].map(([term, count]) => [term, count * idf(term)]));
  const vectors = documents.map(weigh);
  const norms = vectors.map(norm);

  return (prompt) => {
    if (sorted.length === 0) return undefined;
    const terms = tokenize(prompt, triggerWord);
    // Words no caption has cannot raise any score; leaving them out of the query's norm
    // changes every score by the same factor, so the ranking is unaffected.
    const query = weigh(termCounts(terms.filter((term) => documentFrequency.has(term))));
    const queryNorm = norm(query);

    let bestIndex = -1;
    let bestScore = 0;
    vectors.forEach((vector, index) => {
      const denominator = queryNorm * (norms[index] ?? 0);
      if (denominator === 0) return;
      let dot = 0;
      for (const [term, weight] of query) dot += weight * (vector.get(term) ?? 0);
      const score = dot / denominator;
      // Strictly greater: among equal scores the first name in sorted order stays.
      if (score > bestScore + 1e-12) {
        bestScore = score;
        bestIndex = index;
      }
    });

    const best = sorted[bestIndex];
    if (best) return { reference: best, score: Math.min(1, bestScore), matched: true };
    // No shared word: still show a drawing, the same one each time for the same prompt.
    const seeded = sorted[fnv1a(terms.join(' ')) % sorted.length];
    return seeded && { reference: seeded, score: 0, matched: false };
  };
}

function termCounts(terms: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}

function norm(vector: Vector): number {
  let sum = 0;
  for (const weight of vector.values()) sum += weight * weight;
  return Math.sqrt(sum);
}

/** Code-unit order, not locale order, so the pick is the same on every machine. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 32-bit FNV-1a: a small, stable hash for seeding the fallback pick. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
