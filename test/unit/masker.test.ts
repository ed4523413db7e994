import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Masker } from '../../src/pipelines/invoke-credentials.js';

/** What a stream of pieces comes out as, through `Masker.streaming`. */
function streamed(masker: Masker, pieces: string[]): { out: string; writes: string[] } {
  const writes: string[] = [];
  const s = masker.streaming((t) => writes.push(t));
  for (const p of pieces) s.write(p);
  s.flush();
  return { out: writes.join(''), writes };
}

describe('Masker.streaming', () => {
  it('writes what mask() makes of the whole text, however the text is split and whatever the secrets', () => {
    // Few letters, so that secrets overlap each other and the text; `*` and `\` as the mask and
    // JSON escapes write them.
    const letters = fc.constantFrom('a', 'b', '"', '\\', '*');
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: letters, minLength: 3, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.string({ unit: letters, maxLength: 8 }), { maxLength: 8 }),
        (secrets, pieces) => {
          const masker = new Masker(secrets);
          expect(streamed(masker, pieces).out).toBe(masker.mask(pieces.join('')));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('holds back at most a secret less one character, even when the text repeats the secret without end', () => {
    const masker = new Masker(['aaaa']);
    const pieces = Array.from({ length: 2000 }, () => 'a'.repeat(101));
    const { out, writes } = streamed(masker, pieces);
    expect(out).toBe(masker.mask(pieces.join('')));
    // Every piece but the first brings out what the one before it held back.
    expect(writes.length).toBeGreaterThanOrEqual(pieces.length);
  });
});
