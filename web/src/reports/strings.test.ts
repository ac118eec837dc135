import { describe, expect, it } from 'vitest';
import { placeholders } from '../lib/i18n.js';
import { en, nl, type Key } from './strings.js';

describe('report page strings', () => {
  it('have the same keys and {parameters} in Dutch and English, none empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(nl).sort());
    for (const k of Object.keys(nl) as Key[]) {
      expect(placeholders(en[k]), k).toEqual(placeholders(nl[k]));
      expect(nl[k].trim(), k).not.toBe('');
      expect(en[k].trim(), k).not.toBe('');
    }
  });
});
