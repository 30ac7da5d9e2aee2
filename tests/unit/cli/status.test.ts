import { formatStatus, variantsOf } from '../../../cli/status';

const GROUP = 'sluice-dev--abalone';

describe('variantsOf', () => {
  it('gives each variant its version and its share of the weights, as SageMaker routes requests', () => {
    const variants = variantsOf(
      {
        ProductionVariants: [
          { VariantName: 'blue', CurrentWeight: 3, CurrentInstanceCount: 2 },
          { VariantName: 'green', CurrentWeight: 1, CurrentInstanceCount: 1 },
        ],
      },
      new Map([['blue', `${GROUP}/1`], ['green', `${GROUP}/2`]]),
    );

    expect(variants).toEqual([
      { name: 'blue', modelVersion: `${GROUP}/1`, trafficPercent: 75, instances: 2 },
      { name: 'green', modelVersion: `${GROUP}/2`, trafficPercent: 25, instances: 1 },
    ]);
  });

  it('uses the desired weight before a variant has a current one, and rounds to one decimal', () => {
    const variants = variantsOf({ ProductionVariants: [{ VariantName: 'a', DesiredWeight: 1 }, { VariantName: 'b', DesiredWeight: 2 }] }, new Map());

    expect(variants.map((variant) => variant.trafficPercent)).toEqual([33.3, 66.7]);
    expect(variants[0]).not.toHaveProperty('modelVersion');
  });

  it('gives every variant 0% when all weights are 0 (no traffic is routed)', () => {
    expect(variantsOf({ ProductionVariants: [{ VariantName: 'a', CurrentWeight: 0 }] }, new Map())[0]?.trafficPercent).toBe(0);
  });
});

describe('formatStatus', () => {
  it('lists the variants of a split endpoint and the deployment under way', () => {
    const text = formatStatus({
      runs: [],
      modelVersions: [],
      endpoints: [
        {
          name: `${GROUP}-prod`,
          status: 'Updating',
          modelVersion: `${GROUP}/1, ${GROUP}/2`,
          variants: [
            { name: 'blue', modelVersion: `${GROUP}/1`, trafficPercent: 90 },
            { name: 'green', modelVersion: `${GROUP}/2`, trafficPercent: 10 },
          ],
          pending: { endpointConfig: `${GROUP}-prod-3`, modelVersion: `${GROUP}/3` },
        },
      ],
    });

    expect(text).toContain(`    blue  ${GROUP}/1  90%`);
    expect(text).toContain(`    green  ${GROUP}/2  10%`);
    expect(text).toContain(`    updating to ${GROUP}/3 (${GROUP}-prod-3)`);
  });
});
