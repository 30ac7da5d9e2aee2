/**
 * readWiring's SNS: topics (Ref gives the topic ARN, as CloudFormation's does), their TopicPolicy,
 * subscriptions, and a rule target's InputTransformer, as AWS::SNS::* and AWS::Events::Rule declare them.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-topic.html (return values)
 */
import { readWiring, type Template } from '../../../local/cloudformation/template';

const ENV = { region: 'us-east-1', accountId: '123456789012', stackName: 'sluice-local', endpoint: 'http://127.0.0.1:1' };
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:sluice-local-notifications';
const TRANSFORMER = { InputPathsMap: { what: '$.detail-type' }, InputTemplate: '"<what>"' };

const TEMPLATE: Template = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'sluice-local' } },
    Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'sluice-local-notifications', DisplayName: 'Sluice local' } },
    Unnamed: { Type: 'AWS::SNS::Topic', Properties: {} },
    Policy: { Type: 'AWS::SNS::TopicPolicy', Properties: { Topics: [{ Ref: 'Topic' }], PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: 'Topic' } }] } } },
    Email: { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: { Ref: 'Topic' }, Protocol: 'email', Endpoint: 'ml-team@example.com' } },
    Rule: {
      Type: 'AWS::Events::Rule',
      Properties: { Name: 'sluice-local-notifications', EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['sluice'] }, Targets: [{ Id: 't', Arn: { Ref: 'Topic' }, InputTransformer: TRANSFORMER }] },
    },
  },
};

describe('readWiring SNS', () => {
  const wiring = readWiring(TEMPLATE, ENV);

  it('reads topics with their attributes and policy; Ref is the topic ARN; an unnamed topic gets a generated name', () => {
    expect(wiring.snsTopics).toEqual([
      { logicalId: 'Topic', name: 'sluice-local-notifications', arn: TOPIC_ARN, attributes: { DisplayName: 'Sluice local' }, policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sns:Publish', Resource: TOPIC_ARN }] }) },
      expect.objectContaining({ logicalId: 'Unnamed', name: expect.stringMatching(/^sluice-local-Unnamed-[0-9A-F]{12}$/), policy: undefined }),
    ]);
  });

  it('reads subscriptions with the topic ARN their Ref resolves to', () => {
    expect(wiring.snsSubscriptions).toEqual([{ logicalId: 'Email', topicArn: TOPIC_ARN, protocol: 'email', endpoint: 'ml-team@example.com', attributes: {} }]);
  });

  it("keeps a rule target's InputTransformer", () => {
    expect(wiring.rules[0]!.targets).toEqual([expect.objectContaining({ arn: TOPIC_ARN, inputTransformer: TRANSFORMER })]);
  });
});
