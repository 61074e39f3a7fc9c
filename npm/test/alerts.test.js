'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const cdk = require('aws-cdk-lib');
const events = require('aws-cdk-lib/aws-events');
const sns = require('aws-cdk-lib/aws-sns');
const sqs = require('aws-cdk-lib/aws-sqs');
const { Template, Match, Annotations } = require('aws-cdk-lib/assertions');
const { MigrationLifecycleAlerts, DatasetMigration, DepotPackage, LifecycleEvent } = require('../lib');
const { EXAMPLES, newStack, datasetFrom, cli } = require('./support');

const ex = (f) => path.join(EXAMPLES, f);

function alertsStack(props = {}) {
  const { stack } = newStack();
  const topic = new sns.Topic(stack, 'Topic');
  const alerts = new MigrationLifecycleAlerts(stack, 'Alerts', { topic, ...props(stack) });
  return { stack, topic, alerts, t: Template.fromStack(stack) };
}

test('default: all four events on the default bus, the core message, to the topic', () => {
  const { stack, topic, alerts, t } = alertsStack(() => ({}));
  t.resourceCountIs('AWS::Events::Rule', 1);
  // The native alert-rule writes the same pattern and message (from the same core functions).
  const native = JSON.parse(cli('alert-rule', '--dataset', ex('dogs.dataset.json'), '--topic-arn', 'arn:aws:sns:eu-west-1:058264526050:alerts'));
  const nativeRule = native.Resources.MigrationLifecycleRule.Properties;
  const transformer = nativeRule.Targets[0].InputTransformer;
  t.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      source: ['tech.stage.depot'],
      'detail-type': ['migration-lifecycle'],
      detail: { type: ['lifecycle'], event: ['desired', 'attempted', 'deployed', 'failed'] },
    },
    Description: 'Alerts on depot-migrate lifecycle events',
    State: 'ENABLED',
    EventBusName: Match.absent(),
    Targets: [{ Arn: { Ref: stack.getLogicalId(topic.node.defaultChild) }, Id: 'Target0', InputTransformer: transformer }],
  });
  assert.equal(transformer.InputPathsMap.versionHash, '$.detail.datasetVersionHash', 'the real field, not the observability page\'s versionHash');
  assert.ok(transformer.InputTemplate.includes('\\n'), 'multi-line message');
  const rule = Object.values(t.findResources('AWS::Events::Rule'))[0].Properties;
  // The native pattern is scoped to its dataset; without filters the CDK rule is not.
  const { datasetId, ...unscoped } = nativeRule.EventPattern.detail;
  assert.deepEqual(datasetId, ['9afc0c483ed3']);
  assert.deepEqual(rule.EventPattern.detail, unscoped);
  assert.deepEqual(alerts.eventPattern, rule.EventPattern);
  // EventBridge may publish to the topic (else notifications are silently dropped).
  t.hasResourceProperties('AWS::SNS::TopicPolicy', {
    Topics: [{ Ref: stack.getLogicalId(topic.node.defaultChild) }],
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } })]) },
  });
});

test('filters: datasets (by id), datasetIds, aliases, events; the same pattern as alert-rule', () => {
  const { t } = alertsStack((stack) => {
    const dogs = new DatasetMigration(stack, 'Dogs', { package: DepotPackage.fromFile(ex('dogs.v1.package.json')), dataset: datasetFrom('dogs.dataset.json') });
    return { datasets: [dogs], datasetIds: ['other1', '9afc0c483ed3'], aliases: ['WsDevDogSrc'], events: [LifecycleEvent.FAILED, LifecycleEvent.DEPLOYED] };
  });
  t.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      source: ['tech.stage.depot'],
      'detail-type': ['migration-lifecycle'],
      detail: { type: ['lifecycle'], event: ['failed', 'deployed'], datasetId: ['9afc0c483ed3', 'other1'], datasetAlias: ['WsDevDogSrc'] },
    },
  });
  const one = alertsStack((stack) => ({
    datasets: [new DatasetMigration(stack, 'Dogs', { package: DepotPackage.fromFile(ex('dogs.v1.package.json')), dataset: datasetFrom('dogs.dataset.json') })],
    events: [LifecycleEvent.FAILED],
  }));
  const native = JSON.parse(cli('alert-rule', '--dataset', ex('dogs.dataset.json'), '--events', 'failed', '--format', 'json'));
  one.t.hasResourceProperties('AWS::Events::Rule', { EventPattern: native });
});

test('eventBus, ruleName, description, enabled', () => {
  const { stack, t } = alertsStack((s) => ({
    eventBus: new events.EventBus(s, 'Bus'),
    ruleName: 'migration-lifecycle-alert',
    description: 'team alerts',
    enabled: false,
  }));
  t.hasResourceProperties('AWS::Events::Rule', {
    EventBusName: { Ref: stack.getLogicalId(stack.node.findChild('Bus').node.defaultChild) },
    Name: 'migration-lifecycle-alert',
    Description: 'team alerts',
    State: 'DISABLED',
  });
  const imported = alertsStack((s) => ({ eventBus: events.EventBus.fromEventBusName(s, 'Bus', 'depot-events') }));
  imported.t.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'depot-events' });
});

test('LifecycleEvent has the four lifecycle events', () => {
  assert.deepEqual(Object.values(LifecycleEvent), ['desired', 'attempted', 'deployed', 'failed']);
});

test('bad props throw at construction, naming the prop and the value', () => {
  const { stack } = newStack();
  const topic = new sns.Topic(stack, 'Topic');
  let n = 0;
  const make = (props) => () => new MigrationLifecycleAlerts(stack, `A${n++}`, props);
  assert.throws(make(undefined), /props are required/);
  assert.throws(make({}), /props\.topic must be an SNS topic \(sns\.ITopic\), got undefined/);
  assert.throws(make({ topic: 'arn:aws:sns:eu-west-1:1:t' }), /props\.topic must be an SNS topic .*got "arn:aws:sns/);
  assert.throws(make({ topic, events: [] }), /props\.events must be a non-empty list of LifecycleEvent values .*\(omit it to match all\), got \[\]/);
  assert.throws(make({ topic, events: ['failed', 'FAILED'] }), /props\.events\[1\] must be LifecycleEvent values \(desired, attempted, deployed, failed\), got "FAILED"/);
  assert.throws(make({ topic, datasets: [{ datasetId: 'x' }] }), /props\.datasets\[0\] must be DatasetMigration constructs, got \{"datasetId":"x"\}/);
  assert.throws(make({ topic, datasetIds: [''] }), /props\.datasetIds\[0\] must be dataset ids, got ""/);
  assert.throws(make({ topic, aliases: 'WsDevDogSrc' }), /props\.aliases must be a non-empty list .*got "WsDevDogSrc"/);
  assert.throws(make({ topic, enabled: 'no' }), /props\.enabled must be true or false, got "no"/);
});

test('the alert message renders with the event fields (core template, observability page wording, failure and next commands)', () => {
  const { t } = alertsStack(() => ({}));
  const target = Object.values(t.findResources('AWS::Events::Rule'))[0].Properties.Targets[0];
  // What EventBridge does: substitute each <name> with the value at its path.
  const render = (event) => JSON.parse(target.InputTransformer.InputTemplate.replace(/<([A-Za-z]+)>/g, (_, k) => {
    const p = target.InputTransformer.InputPathsMap[k];
    const v = p.replace('$.', '').split('.').reduce((o, key) => (o === undefined || o === null ? undefined : o[key]), event);
    return v === undefined ? '' : String(v);
  }));
  const detail = { datasetId: '9afc0c483ed3', datasetAlias: 'WsDevDogSrc', event: 'deployed', datasetVersionHash: 'ab'.repeat(32), environmentId: 'e2e404529091ed2' };
  const lines = render({ detail }).split('\n');
  assert.deepEqual(lines.slice(0, 3), ['Migration lifecycle event for dataset 9afc0c483ed3 (WsDevDogSrc)', `lifecycle event: deployed -> version hash ${'ab'.repeat(32)}`, 'in environment e2e404529091ed2']);
  // A failed event: the step, class, SQLSTATE, message and the commands to run next.
  const error = { class: 'step', stepKey: 'addColumn:dog.active', sqlstate: '42701', message: 'column active of relation dog already exists' };
  const failed = render({ detail: { ...detail, event: 'failed', error } }).split('\n');
  assert.equal(failed[1], `lifecycle event: failed -> version hash ${'ab'.repeat(32)}`);
  assert.equal(failed[3], 'if failed: step addColumn:dog.active, error class step, SQLSTATE or engine code 42701');
  assert.equal(failed[4], 'message: column active of relation dog already exists');
  assert.match(failed[5], /^next: depot-migrate status --dataset-id 9afc0c483ed3 --environment-id e2e404529091ed2 and depot-migrate history --dataset-id 9afc0c483ed3 .*, then depot-migrate recover --dataset-id 9afc0c483ed3 --resolve retry\|rolled-back\|deployed --reason TEXT$/);
});

test('the rule listens on the datasets\' bus, one rule per bus; datasetIds and aliases on the default bus', () => {
  const { stack } = newStack();
  const topic = new sns.Topic(stack, 'Topic');
  const pkg = DepotPackage.fromFile(ex('dogs.v1.package.json'));
  const orders = new DatasetMigration(stack, 'Orders', { package: pkg, dataset: datasetFrom('dogs.dataset.json', { datasetId: '0rders000001', eventBusName: 'orders-bus' }) });
  const more = new DatasetMigration(stack, 'More', { package: pkg, dataset: datasetFrom('dogs.dataset.json', { datasetId: '0rders000002', eventBusName: 'arn:aws:events:eu-west-1:058264526050:event-bus/orders-bus' }) });
  const onDefault = new DatasetMigration(stack, 'OnDefault', { package: pkg, dataset: datasetFrom('dogs.dataset.json', { eventBusName: 'default' }) });
  const single = new MigrationLifecycleAlerts(stack, 'Single', { topic, datasets: [orders] });
  const multi = new MigrationLifecycleAlerts(stack, 'Multi', { topic, datasets: [orders, onDefault, more], datasetIds: ['e1sewhere001'] });
  const t = Template.fromStack(stack);
  const rules = t.findResources('AWS::Events::Rule');
  const ruleOf = (r) => rules[stack.getLogicalId(r.node.defaultChild)].Properties;

  // A dataset on orders-bus alone: its one rule is on orders-bus, not on the default bus.
  assert.equal(single.rules.length, 1);
  assert.equal(ruleOf(single.rule).EventBusName, 'orders-bus');
  assert.deepEqual(ruleOf(single.rule).EventPattern.detail.datasetId, ['0rders000001']);

  // Two buses: one rule each, each matching only its own datasets (name and ARN of a bus are one bus).
  assert.equal(multi.rules.length, 2);
  const ordersRule = multi.rules.find((r) => ruleOf(r).EventBusName !== undefined);
  const defaultRule = multi.rules.find((r) => ruleOf(r).EventBusName === undefined);
  assert.ok(ordersRule && defaultRule, JSON.stringify(multi.rules.map(ruleOf)));
  assert.match(JSON.stringify(ruleOf(ordersRule).EventBusName), /orders-bus/);
  assert.deepEqual(ruleOf(ordersRule).EventPattern.detail.datasetId, ['0rders000001', '0rders000002']);
  assert.deepEqual(ruleOf(defaultRule).EventPattern.detail.datasetId, [onDefault.datasetId, 'e1sewhere001']);
  // Both rules to the one topic, with the one dead-letter queue.
  for (const r of multi.rules) {
    assert.deepEqual(ruleOf(r).Targets[0].Arn, { Ref: stack.getLogicalId(topic.node.defaultChild) });
    assert.deepEqual(ruleOf(r).Targets[0].DeadLetterConfig.Arn, { 'Fn::GetAtt': [stack.getLogicalId(multi.deadLetterQueue.node.defaultChild), 'Arn'] });
  }
  assert.deepEqual(multi.eventPatterns.map((p) => p.detail.datasetId), multi.rules.map((r) => ruleOf(r).EventPattern.detail.datasetId));
  assert.equal(Annotations.fromStack(stack).findWarning('/Test/Multi', Match.anyValue()).length, 0);
});

test('props.eventBus puts every dataset on that bus; a dataset publishing elsewhere is a synth warning with an id', () => {
  const { stack } = newStack();
  const topic = new sns.Topic(stack, 'Topic');
  const pkg = DepotPackage.fromFile(ex('dogs.v1.package.json'));
  const onBus = new DatasetMigration(stack, 'OnBus', { package: pkg, dataset: datasetFrom('dogs.dataset.json', { eventBusName: 'depot-events' }) });
  const onDefault = new DatasetMigration(stack, 'OnDefault', { package: pkg, dataset: datasetFrom('dogs.dataset.json', { datasetId: 'd0000000000f', eventBusName: 'default' }) });
  const bus = events.EventBus.fromEventBusName(stack, 'Bus', 'depot-events');
  const a = new MigrationLifecycleAlerts(stack, 'Forced', { topic, datasets: [onBus, onDefault], eventBus: bus });
  assert.equal(a.rules.length, 1);
  Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', { EventBusName: 'depot-events', EventPattern: Match.objectLike({ detail: Match.objectLike({ datasetId: [onBus.datasetId, 'd0000000000f'] }) }) });
  const warnings = Annotations.fromStack(stack).findWarning('/Test/Forced', Match.anyValue());
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].entry.data, /dataset d0000000000f publishes its lifecycle events to bus "default" but props\.eventBus is "depot-events".*\[ack: depot-migrate-cdk:alerts-bus\]/);
  new MigrationLifecycleAlerts(stack, 'NamedBus', { topic, datasets: [onBus], eventBus: bus });
  assert.equal(Annotations.fromStack(stack).findWarning('/Test/NamedBus', Match.anyValue()).length, 0);
});

test('undeliverable alerts: a dead-letter queue by default, or the one given; retries stated', () => {
  const { stack } = newStack();
  const topic = new sns.Topic(stack, 'Topic');
  const mine = new sqs.Queue(stack, 'MyDlq');
  const given = new MigrationLifecycleAlerts(stack, 'Given', { topic, deadLetterQueue: mine });
  assert.equal(given.deadLetterQueue, mine);
  const created = new MigrationLifecycleAlerts(stack, 'Created', { topic });
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::SQS::Queue', 2);
  const rules = t.findResources('AWS::Events::Rule');
  const target = (a) => rules[stack.getLogicalId(a.rule.node.defaultChild)].Properties.Targets[0];
  assert.deepEqual(target(given).DeadLetterConfig, { Arn: { 'Fn::GetAtt': [stack.getLogicalId(mine.node.defaultChild), 'Arn'] } });
  assert.deepEqual(target(created).DeadLetterConfig, { Arn: { 'Fn::GetAtt': [stack.getLogicalId(created.deadLetterQueue.node.defaultChild), 'Arn'] } });
  assert.deepEqual(target(created).RetryPolicy, { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
  t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  assert.throws(() => new MigrationLifecycleAlerts(stack, 'Bad', { topic, deadLetterQueue: 'arn:aws:sqs:x' }), /props\.deadLetterQueue must be an SQS queue/);
});
