import { UsageError } from '../src/errors';
import {
  imageReference,
  isValidDigest,
  isValidTag,
  requireDigest,
  requireTag,
} from '../src/image-reference';

describe('image tags', () => {
  it.each(['abcdef1', '0123456789abcdef0123456789abcdef01234567', '1.2.3', 'v1.2.3', '1.5.0-rc.1'])(
    'accepts the immutable reference %s',
    (tag) => expect(isValidTag(tag)).toBe(true),
  );

  it.each([
    'latest',
    'ABCDEF1',
    'abc12',
    '1.2',
    'abcdef1;rm',
    '',
    'v1.2.3-',
    '0123456789abcdef0123456789abcdef012345678',
  ])('refuses %j, naming it', (tag) => {
    expect(isValidTag(tag)).toBe(false);
    expect(() => requireTag(tag)).toThrow(
      new UsageError(
        `invalid image tag '${tag}': use a git commit SHA (7-40 lowercase hex) or a version like 1.2.3 / v1.2.3-rc.1`,
      ),
    );
  });
});

describe('image digests', () => {
  const digest = `sha256:${'0f'.repeat(32)}`;
  it('accepts sha256 with 64 lowercase hex digits', () => {
    expect(isValidDigest(digest)).toBe(true);
    expect(requireDigest(digest)).toBe(digest);
  });

  it.each([
    '',
    `sha256:${'AB'.repeat(32)}`,
    digest.slice(0, -1),
    `sha512:${'ab'.repeat(32)}`,
    `${digest};rm`,
  ])('refuses %j with a usage error', (value) => {
    expect(isValidDigest(value)).toBe(false);
    expect(() => requireDigest(value)).toThrow(UsageError);
    expect(() => requireDigest(value)).toThrow(`invalid digest '${value}'`);
  });

  it('writes a reference the way an overlay pins it', () => {
    expect(imageReference('1.0.0', '')).toBe('1.0.0');
    expect(imageReference('1.0.0', digest)).toBe(`1.0.0@${digest}`);
  });
});
