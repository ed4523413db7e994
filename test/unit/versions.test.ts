import { describe, expect, it } from 'vitest';
import { isValidUniqueIdentifier, uniqueIdentifier } from '../../src/project/identity.js';
import { isPep440, satisfiesSpecifiers } from '../../src/project/pep440.js';
import { sdkRange } from '../../src/debug/python-needs.js';
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

describe('PEP 440 specifiers, for an installed version', () => {
  it.each([
    ['3.12.4', '>=3.12', true],
    ['3.11.7', '>=3.12', false],
    ['3.12.0', '==3.12.*', true],
    ['3.13.1', '==3.12.*', false],
    ['3.12.4', '~=3.12', true],
    ['4.0.0', '~=3.12', false],
    ['3.12.4', '~=3.12.1', true],
    ['3.13.0', '~=3.12.1', false],
    ['0.9.1', '>=0.9.0,<0.11.0', true],
    ['0.11.0', '>=0.9.0,<0.11.0', false],
    ['0.11.0rc1', '<0.11.0', false], // a pre-release of the excluded version
    ['0.11.0rc1', '>=0.10', true], // installed pre-releases count
    ['0.9.0.post1', '>0.9.0', false],
    ['0.9.0+local', '==0.9.0', true],
    ['0.9.0', '!=0.9.0', false],
    ['0.9.0', '===0.9.0', true],
    ['0.9.0', '', true],
  ])('%s against "%s": %s', (version, specifiers, expected) => {
    expect(satisfiesSpecifiers(version, specifiers)).toBe(expected);
  });

  it.each([
    ['3.12', '>>3'],
    ['3.12', '~=3'],
    ['not a version', '>=1'],
  ])('says nothing of what it cannot read: %s against "%s"', (version, specifiers) => {
    expect(satisfiesSpecifiers(version, specifiers)).toBeUndefined();
  });

  it("finds the SDK's range in requirement lines however they spell it", () => {
    expect(sdkRange(['requests>=2', 'Dify-Plugin >= 0.9.0, < 0.11.0'])).toBe('>= 0.9.0, < 0.11.0');
    expect(sdkRange(['dify_plugin[extra] (>=0.9) ; python_version >= "3.12"'])).toBe('>=0.9');
    expect(sdkRange(['dify_plugin==0.9.1 --hash=sha256:abc'])).toBe('==0.9.1');
    expect(sdkRange(['dify_plugin @ git+https://github.com/langgenius/dify-plugin-sdks'])).toBe('');
    expect(sdkRange(['dify_plugin'])).toBe('');
    expect(sdkRange(['dify_plugin_extras>=1'])).toBeUndefined();
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
