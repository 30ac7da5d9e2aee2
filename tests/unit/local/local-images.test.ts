import { parseLocalSection } from '../../../local/runtime';

describe('parseLocalSection', () => {
  it('returns the image commands of a valid Local section', () => {
    const images = parseLocalSection({ Images: { 'acct.dkr.ecr.us-east-1.amazonaws.com/abalone:latest': { Command: ['node', 'container.js'], Environment: { LOG_LEVEL: 'debug' } } } }, 'mlops.yaml');

    expect(images).toEqual({ 'acct.dkr.ecr.us-east-1.amazonaws.com/abalone:latest': { Command: ['node', 'container.js'], Environment: { LOG_LEVEL: 'debug' } } });
  });

  it('returns no images when the section is absent', () => {
    expect(parseLocalSection(undefined, 'mlops.yaml')).toEqual({});
  });

  it('rejects a malformed command naming the source and the field', () => {
    expect(() => parseLocalSection({ Images: { 'img:1': { Command: 'node container.js' } } }, 'images.yaml')).toThrow(/^images\.yaml: Local: Images\.img:1\.Command: /);
  });
});
