/**
 * Delimited listings over s3rver's store (local/s3/list-objects.ts): what `aws s3 ls` shows.
 * Semantics: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html (Delimiter, CommonPrefixes).
 */
import { fixDelimitedListing, groupByDelimiter, type ListingStore, type StoreListOptions } from '../../../local/s3/list-objects';

const keys = (...names: string[]) => names.map((key) => ({ key }));

describe('groupByDelimiter', () => {
  it('rolls keys at any depth up into the first-level common prefix', () => {
    const listing = groupByDelimiter(keys('datasets/v1/train.csv', 'builds/abc/model.tar.gz', 'README.md'), { delimiter: '/', prefix: '' });

    expect(listing).toEqual({ objects: keys('README.md'), commonPrefixes: ['builds/', 'datasets/'], isTruncated: false });
  });

  it('groups below a prefix, keeping the prefix in each common prefix', () => {
    const listing = groupByDelimiter(keys('datasets/v1/a/train.csv', 'datasets/v2/test.csv', 'datasets/index.json'), { delimiter: '/', prefix: 'datasets/' });

    expect(listing).toEqual({ objects: keys('datasets/index.json'), commonPrefixes: ['datasets/v1/', 'datasets/v2/'], isTruncated: false });
  });

  it('keeps keys in key order up to maxKeys and says the listing is truncated', () => {
    const listing = groupByDelimiter(keys('c.txt', 'a.txt', 'b.txt'), { delimiter: '/', maxKeys: 2 });

    expect(listing).toEqual({ objects: keys('a.txt', 'b.txt'), commonPrefixes: [], isTruncated: true });
  });

  it('takes a delimiter of more than one character', () => {
    const listing = groupByDelimiter(keys('2026--12--04.csv', 'single.csv'), { delimiter: '--' });

    expect(listing.commonPrefixes).toEqual(['2026--']);
  });
});

describe('fixDelimitedListing', () => {
  function fakeStore(): { store: ListingStore; calls: StoreListOptions[] } {
    const calls: StoreListOptions[] = [];
    const store: ListingStore = {
      listObjects: async (_bucket, options) => {
        calls.push(options);
        return { objects: keys('datasets/v1/train.csv', 'top.txt'), commonPrefixes: [], isTruncated: false };
      },
    };
    return { store, calls };
  }

  it('asks the store for every key under the prefix, then groups them by the delimiter', async () => {
    const { store, calls } = fakeStore();
    fixDelimitedListing(store);

    const listing = await store.listObjects('bucket', { delimiter: '/', prefix: '', maxKeys: 1000 });

    expect(calls).toEqual([{ delimiter: undefined, prefix: '', maxKeys: Infinity }]);
    expect(listing.commonPrefixes).toEqual(['datasets/']);
    expect(listing.objects).toEqual(keys('top.txt'));
  });

  it('leaves listings without a delimiter to the store', async () => {
    const { store, calls } = fakeStore();
    fixDelimitedListing(store);

    await store.listObjects('bucket', { prefix: 'd', maxKeys: 5 });

    expect(calls).toEqual([{ prefix: 'd', maxKeys: 5 }]);
  });
});
