import { describe, expect, it } from 'vitest';
import { isValidUniqueIdentifier, uniqueIdentifier } from '../../src/project/identity.js';
import { isPep440 } from '../../src/project/pep440.js';
import { didYouMean, editDistance } from '../../src/check/suggest.js';

describe('PEP 440', () => {
  it.each([
    '1.0',
    'v1.0.0',
    '1.0.0-beta',
    '1.0.0-beta1',
    '01.2.3',
    '1.0.0-rc1',
    '1.0.0-1',
    '1.0.0.dev3',
    '1!2.0',
    '1.0+local.7',
  ])('accepts %s', (v) => {
    expect(isPep440(v)).toBe(true);
  });
  it.each(['abc', '1.0.0-fix', '1.0.0-', '', '1..0'])('rejects %s', (v) => {
    expect(isPep440(v)).toBe(false);
  });
});

describe('unique identifier', () => {
  const sum = 'a'.repeat(64);
  it('builds and accepts what the daemon accepts', () => {
    const id = uniqueIdentifier('langgenius', 'google', '0.1.6', sum);
    expect(id).toBe(`langgenius/google:0.1.6@${sum}`);
    expect(isValidUniqueIdentifier(id)).toBe(true);
    expect(isValidUniqueIdentifier(uniqueIdentifier(null, 'google', '0.1', sum))).toBe(true);
  });
  it('refuses upper case, bad versions and short checksums', () => {
    expect(isValidUniqueIdentifier(uniqueIdentifier('Acme', 'x', '1.0.0', sum))).toBe(false);
    expect(isValidUniqueIdentifier(uniqueIdentifier('acme', 'x', '1', sum))).toBe(false);
    expect(isValidUniqueIdentifier(`acme/x:1.0.0@abc`)).toBe(false);
  });
});

describe('did you mean', () => {
  it('finds near misses and ignores far ones', () => {
    expect(didYouMean('lable', ['label', 'description'])).toBe('label');
    expect(didYouMean('Label', ['label'])).toBe('label');
    expect(didYouMean('zzzzzz', ['label'])).toBeUndefined();
    expect(editDistance('ab', 'ba')).toBe(1);
  });
});
