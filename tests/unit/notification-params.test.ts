/**
 * events/stage-params.js notificationSubscriptionResources: the e-mail subscriptions serverless.yml's
 * `resources` gets from the stage's notificationEmails, resolved with a stand-in for the framework's
 * resolveVariable (the package tests cover the packaged result).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stageParams = require('../../events/stage-params.js') as {
  notificationSubscriptionResources(options: { resolveVariable(name: string): Promise<unknown> }): Promise<{ Resources?: Record<string, { Type: string; Properties: Record<string, unknown> }> }>;
};

const resolveWith = (notificationEmails: unknown) => ({
  resolveVariable: async (name: string) => {
    if (name !== 'param:notificationEmails') throw new Error(`unexpected variable ${name}`);
    return notificationEmails;
  },
});

describe('notificationSubscriptionResources', () => {
  it('adds nothing when the stage lists no address ([] or empty)', async () => {
    await expect(stageParams.notificationSubscriptionResources(resolveWith([]))).resolves.toEqual({});
    await expect(stageParams.notificationSubscriptionResources(resolveWith(''))).resolves.toEqual({});
  });

  it('gives each address a subscription whose logical id depends on the address only', async () => {
    const one = await stageParams.notificationSubscriptionResources(resolveWith(['a@example.com']));
    const two = await stageParams.notificationSubscriptionResources(resolveWith('b@example.com, a@example.com'));

    expect(Object.keys(two.Resources!)).toEqual(expect.arrayContaining(Object.keys(one.Resources!)));
    expect(Object.values(two.Resources!).map((resource) => resource.Properties.Endpoint)).toEqual(['b@example.com', 'a@example.com']);
    expect(Object.values(two.Resources!).every((resource) => resource.Type === 'AWS::SNS::Subscription')).toBe(true);
  });

  it('refuses an entry that is not an address, naming the parameter and the entry', async () => {
    await expect(stageParams.notificationSubscriptionResources(resolveWith(['ml-team']))).rejects.toThrow('stage parameter notificationEmails: "ml-team" is not an e-mail address');
  });
});
