/**
 * What a patient may send after the consult: a score 1–5 and/or a short comment. A comment is
 * cut, not refused: a patient who wrote a little too much should not lose it all.
 */
import { z } from 'zod';

/** Characters of a comment that are kept (the rest is cut off). */
export const COMMENT_MAX = 500;
/** Longer input than this is refused (400): nobody types that on a phone after a consult. */
const COMMENT_INPUT_MAX = 5000;

/** Trims, turns control characters (except line breaks) into spaces, cuts to COMMENT_MAX characters. */
export function tidyComment(raw: string): string | null {
  const cleaned = raw.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, ' ').trim();
  if (!cleaned) return null;
  const chars = Array.from(cleaned);
  return chars.length <= COMMENT_MAX ? cleaned : chars.slice(0, COMMENT_MAX).join('').trimEnd();
}

const Comment = z
  .string({ error: 'must be text' })
  .max(COMMENT_INPUT_MAX, `must be at most ${COMMENT_INPUT_MAX} characters`)
  .transform(tidyComment);

export const SendRating = z
  .object({
    score: z.number({ error: 'must be a whole number from 1 to 5' }).int('must be a whole number from 1 to 5').min(1, 'must be a whole number from 1 to 5').max(5, 'must be a whole number from 1 to 5').nullable().optional(),
    comment: Comment.nullable().optional(),
  })
  .strict()
  .refine((v) => (v.score ?? null) !== null || (v.comment ?? null) !== null, { message: 'give a score or a comment', path: ['score'] });
export type SendRating = z.infer<typeof SendRating>;

export const AddComment = z
  .object({
    key: z.string({ error: 'is required' }).regex(/^[A-Za-z0-9_-]{43}$/, 'is not a comment key'),
    comment: Comment.refine((c) => c !== null, 'must not be empty'),
  })
  .strict();
export type AddComment = z.infer<typeof AddComment>;
