/**
 * The deployability review (issue 10) and the IAM half of tenancy, checked on the packaged template.
 * Each `it` names the AWS page its expectation comes from.
 */
import { actions, packageService, type PackagedService, resources, resourcesOfType, statementsOf } from '../helpers/package';

let packaged: PackagedService;
let template: PackagedService['template'];

beforeAll(() => {
  packaged = packageService('dev');
  template = packaged.template;
}, 240_000);

afterAll(() => packaged?.cleanup());

const roles = () => resourcesOfType(template, 'AWS::IAM::Role');
const sub = (text: string) => ({ 'Fn::Sub': text });

describe('the dead-letter queue policy', () => {
  const sourceArns = () => {
    const policy = template.Resources.DeadLetterQueuePolicy!.Properties.PolicyDocument as { Statement: { Condition: { ArnLike: { 'aws:SourceArn': unknown } } }[] };
    return [policy.Statement[0]!.Condition.ArnLike['aws:SourceArn']].flat();
  };

  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html: a rule's ARN is rule/[<bus>/]<rule>.
  it('admits rules on the service bus (rule/<bus>/<rule>, list_amazoneventbridge.html), whose undeliverable promotions were dropped', () => {
    expect(sourceArns()).toContainEqual({ 'Fn::Sub': ['arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${Bus}/*', { Bus: { Ref: 'EventBus' } }] });
  });

  it('still admits the stage rules on the default bus (rule/<rule>)', () => {
    expect(sourceArns()).toContainEqual(sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/sluice-dev-*'));
  });

  it('is the dead-letter queue of every rule on the service bus', () => {
    const busRules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties.EventBusName !== undefined);
    const targets = busRules.flatMap(([, rule]) => rule.Properties.Targets as { DeadLetterConfig?: { Arn: unknown } }[]);

    expect(busRules.length).toBeGreaterThanOrEqual(2);
    for (const target of targets) expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } });
  });
});

describe('StartExecution grants', () => {
  /** `…:stateMachine:<name>` → `…:execution:<name>:*`, for ARNs written with Fn::Sub. */
  const executionsOf = (stateMachine: unknown) => {
    const text = JSON.stringify(stateMachine);
    return JSON.parse(text.replace(/:stateMachine:([^"]*?)"/, ':execution:$1:*"')) as unknown;
  };

  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html: a repeated name is answered from the existing execution.
  it('come with DescribeExecution on the executions of the same state machines (API_StartExecution.html)', () => {
    const missing = roles().flatMap(([id, role]) => {
      const statements = statementsOf(role);
      const described = statements.filter((s) => s.Effect === 'Allow' && actions(s).includes('states:DescribeExecution')).flatMap(resources).map((r) => JSON.stringify(r));
      return statements
        .filter((s) => s.Effect === 'Allow' && actions(s).includes('states:StartExecution'))
        .flatMap(resources)
        .filter((machine) => !described.includes(JSON.stringify(executionsOf(machine))))
        .map((machine) => `${id}: ${JSON.stringify(machine)}`);
    });

    expect(missing).toEqual([]);
  });

  it('exist in the three roles that start runs', () => {
    const starters = roles().filter(([, role]) => statementsOf(role).some((s) => actions(s).includes('states:StartExecution')));

    expect(starters.map(([id]) => id).sort()).toEqual(['CodepipelineActionRole', 'OnModelPackageChangeRole', 'OnSourcePushRole']);
  });
});
