import { describe, expect, it } from 'vitest';
import { AddComment, COMMENT_MAX, SendRating, tidyComment } from './schema.js';

describe('rating input', () => {
  it('takes a score, a comment or both; not neither', () => {
    expect(SendRating.parse({ score: 4 })).toEqual({ score: 4 });
    expect(SendRating.parse({ comment: ' Prima ' })).toEqual({ comment: 'Prima' });
    expect(SendRating.safeParse({}).success).toBe(false);
    expect(SendRating.safeParse({ comment: '   ' }).success).toBe(false);
    for (const score of [0, 6, 2.5, '3']) expect(SendRating.safeParse({ score }).success, String(score)).toBe(false);
    expect(SendRating.safeParse({ score: 3, name: 'x' }).success).toBe(false);
  });

  it('cuts a long comment to the limit (by characters, emoji whole) and tidies control characters', () => {
    const long = '😀'.repeat(COMMENT_MAX + 20);
    const cut = tidyComment(long)!;
    expect(Array.from(cut)).toHaveLength(COMMENT_MAX);
    expect(cut.endsWith('😀')).toBe(true);
    expect(tidyComment('a\u0000b\r\nc\t')).toBe('a b\nc');
    expect(SendRating.safeParse({ comment: 'x'.repeat(5001) }).success).toBe(false);
  });

  it('needs a well-formed key to add a comment', () => {
    expect(AddComment.safeParse({ key: 'short', comment: 'hoi' }).success).toBe(false);
    expect(AddComment.safeParse({ key: 'a'.repeat(43), comment: ' ' }).success).toBe(false);
    expect(AddComment.parse({ key: 'a'.repeat(43), comment: 'hoi' })).toEqual({ key: 'a'.repeat(43), comment: 'hoi' });
  });
});
