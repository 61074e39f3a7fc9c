'use strict';
// The README's example stack under cdk-nag (AwsSolutions and Serverless packs, registered as
// validation plugins the way platform teams do): no unacknowledged finding on a resource our
// constructs create, every acknowledgement on an exact resource with a reason, none on the
// user's resources. Then the template properties behind the fixes: the exact S3 object ARNs,
// the dead-letter queues and retry policies, the concurrency cap, the log groups.
// Needs npm/lambda/x86_64/bootstrap.zip (scripts/build-lambda.sh x86_64).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const cdk = require('aws-cdk-lib');
const { Template, Match, Annotations } = require('aws-cdk-lib/assertions');
const { AwsSolutionsChecks, ServerlessChecks } = require('cdk-nag');
const sns = require('aws-cdk-lib/aws-sns');
const { DatasetMigration, DepotPackage, LifecycleEvent, MigrationLifecycleAlerts } = require('../lib');
const sqs = require('aws-cdk-lib/aws-sqs');
const { build } = require('./readme-example');
const { EXAMPLES, newStack, datasetFrom } = require('./support');

const STACK = 'Readme';
// The constructs of depot-migrate-cdk in the README stack (everything else is the user's).
const OURS = ['Runner', 'Dogs', 'Cats', 'MigrationAlerts'].map((id) => `${STACK}/${id}/`);
const ours = (p) => OURS.some((prefix) => p.startsWith(prefix));

/** Synthesizes the README stack with both packs as validation plugins; returns the plugin reports. */
function synthWithNag() {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-nag-'));
  // CDK's built-in CloudFormation validation is off as in the other tests (slow; the
  // example templates get cfn-lint).
  const app = new cdk.App({ outdir, builtinCloudFormationValidation: false });
  const stack = new cdk.Stack(app, STACK);
  const built = build(stack);
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(), new ServerlessChecks());
  let failed = false;
  try {
    app.synth();
  } catch (e) {
    // The user's resources in the example (VPC without flow logs, the database, the
    // topic) have findings of their own; synthesis then fails with the report.
    assert.match(e.message, /Validation failed/);
    failed = true;
  }
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  // Template.fromStack would synthesize (and validate) again: read the template written.
  const template = Template.fromJSON(JSON.parse(fs.readFileSync(path.join(outdir, `${STACK}.template.json`), 'utf8')));
  return { app, stack, built, report, failed, template };
}

let cached;
const nag = () => (cached ??= synthWithNag());

test('cdk-nag AwsSolutions + Serverless: no unacknowledged finding on our constructs\' resources', () => {
  const { report, failed } = nag();
  // The report lists the plugins that found something (Serverless finds nothing here).
  assert.ok(report.pluginReports.some((r) => r.pluginName === 'AwsSolutions'), JSON.stringify(report.pluginReports.map((r) => r.pluginName)));
  const findings = report.pluginReports.flatMap((r) => r.violations.flatMap((v) =>
    v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)));
  // The packs really ran: the example's own VPC has no flow log, which is the user's choice.
  assert.ok(findings.includes(`AwsSolutions-VPC7 ${STACK}/Vpc/Resource`), findings.join('\n'));
  assert.ok(failed, 'synthesis reports the user\'s findings');
  const onOurs = findings.filter((f) => ours(f.split(' ')[1]));
  assert.deepEqual(onOurs, [], `findings on depot-migrate-cdk resources:\n${onOurs.join('\n')}`);
});

test('every acknowledgement is on one of our resources, with a reason; none on the stack or the user\'s resources', () => {
  const { app } = nag();
  const acks = [];
  const walk = (c) => {
    for (const m of c.node.metadata) {
      if (m.type === cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
        // aws-cdk-lib records its own (CloudFormation-Validate::W3010 on every stack).
        for (const [id, reason] of Object.entries(m.data)) if (!id.startsWith('CloudFormation-Validate::')) acks.push({ path: c.node.path, id: id.replace(/^Annotation::/, ''), reason });
      }
    }
    c.node.children.forEach(walk);
  };
  walk(app);
  for (const a of acks) {
    assert.ok(ours(a.path), `acknowledgement outside our constructs: ${a.path} ${a.id}`);
    assert.ok(typeof a.reason === 'string' && a.reason.length > 60, `a reason for ${a.id} on ${a.path}`);
  }
  const byRule = [...new Set(acks.map((a) => `${a.id} ${a.path}`))].sort();
  // The complete list (docs/lambda.md, "cdk-nag"): a new acknowledgement is a decision.
  assert.deepEqual(byRule, [
    `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] ${STACK}/Runner/Function/ServiceRole/Resource`,
    `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] ${STACK}/Runner/Provider/framework-onEvent/ServiceRole/Resource`,
    `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole] ${STACK}/Runner/Function/ServiceRole/Resource`,
    `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole] ${STACK}/Runner/Provider/framework-onEvent/ServiceRole/Resource`,
    `AwsSolutions-IAM5[Resource::<RunnerFunction51B573FD.Arn>:*] ${STACK}/Runner/Provider/framework-onEvent/ServiceRole/DefaultPolicy/Resource`,
    `AwsSolutions-SQS3 ${STACK}/Cats/WorkerDeadLetterQueue/Resource`,
    `AwsSolutions-SQS3 ${STACK}/MigrationAlerts/DeadLetterQueue/Resource`,
    `Serverless-EventBusDLQ ${STACK}/Runner/Watchdog/Resource`,
    `Serverless-LambdaDLQ ${STACK}/Runner/Function/Resource`,
    `Serverless-LambdaDLQ ${STACK}/Runner/Provider/framework-onEvent/Resource`,
    `Serverless-LambdaDefaultMemorySize ${STACK}/Runner/Provider/framework-onEvent/Resource`,
    `Serverless-LambdaEventSourceMappingDestination ${STACK}/Runner/Function/SqsEventSource:${STACK}CatsWorkerQueue0333B3B9`,
    `Serverless-LambdaTracing ${STACK}/Runner/Function/Resource`,
    `Serverless-LambdaTracing ${STACK}/Runner/Provider/framework-onEvent/Resource`,
    `Serverless-SQSRedrivePolicy ${STACK}/Cats/WorkerDeadLetterQueue/Resource`,
    `Serverless-SQSRedrivePolicy ${STACK}/MigrationAlerts/DeadLetterQueue/Resource`,
  ]);
});

test('the runner reads exactly each bundle object: s3:GetObject on bucket/key, nothing on the bucket', () => {
  const { stack, template } = nag();
  const t = template;
  const resolve = (v) => JSON.stringify(stack.resolve(v));
  const keys = Object.values(t.findResources('Custom::DepotMigration')).map((r) => r.Properties.bundleKey);
  assert.equal(keys.length, 1);
  const s3 = [];
  for (const p of Object.values(t.findResources('AWS::IAM::Policy'))) {
    for (const s of p.Properties.PolicyDocument.Statement) {
      if ([].concat(s.Action).some((a) => a.startsWith('s3:'))) s3.push(s);
    }
  }
  assert.deepEqual(s3, [{
    Action: 's3:GetObject',
    Effect: 'Allow',
    Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::',
      { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, `/${keys[0]}`]] },
  }], resolve(s3));
});

test('no event dropped silently: the worker and alert targets have dead-letter queues and retry policies', () => {
  const { stack, built, template } = nag();
  const t = template;
  const id = (c) => stack.getLogicalId(c.node.defaultChild);
  const retry = { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 };
  // Desired events the worker rule cannot deliver go to the worker queue's own DLQ.
  t.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: Match.objectLike({ detail: Match.objectLike({ event: ['desired'] }) }),
    Targets: [Match.objectLike({
      Arn: { 'Fn::GetAtt': [id(built.cats.workerQueue), 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(built.cats.workerDeadLetterQueue), 'Arn'] } },
      RetryPolicy: retry,
    })],
  });
  // Failure alerts the topic does not take go to the alerts' DLQ.
  t.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: Match.objectLike({ detail: Match.objectLike({ event: ['failed'] }) }),
    Targets: [Match.objectLike({
      Arn: { Ref: id(built.topic) },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(built.alerts.deadLetterQueue), 'Arn'] } },
      RetryPolicy: retry,
    })],
  });
  // EventBridge may send to both DLQs (for its own rules only).
  for (const q of [built.cats.workerDeadLetterQueue, built.alerts.deadLetterQueue]) {
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id(q) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Action: 'sqs:SendMessage',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } },
      })]) },
    });
  }
  // Every queue we create: SQS-managed encryption stated, TLS enforced.
  const queues = t.findResources('AWS::SQS::Queue');
  assert.equal(Object.keys(queues).length, 3);
  for (const [name, q] of Object.entries(queues)) {
    assert.equal(q.Properties.SqsManagedSseEnabled, true, name);
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: name }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      })]) },
    });
  }
});

test('bounded concurrency: each worker queue\'s event source mapping is capped', () => {
  const { stack, built, template } = nag();
  const t = template;
  t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [stack.getLogicalId(built.cats.workerQueue.node.defaultChild), 'Arn'] },
    ScalingConfig: { MaximumConcurrency: 2 },
  });
  assert.equal(built.runner.maxConcurrencyPerQueue, 2);
  // No reservation by default (it fails to deploy in accounts with a low concurrency limit).
  const fn = t.findResources('AWS::Lambda::Function', { Properties: { Handler: 'bootstrap' } });
  assert.equal(Object.values(fn)[0].Properties.ReservedConcurrentExecutions, undefined);
});

test('the Provider runs in the VPC with the runner\'s subnets and security groups; both functions log to groups with retention', () => {
  const { stack, built, template } = nag();
  const t = template;
  const fns = t.findResources('AWS::Lambda::Function');
  const runnerFn = fns[stack.getLogicalId(built.runner.function.node.defaultChild)].Properties;
  const framework = Object.entries(fns).find(([k]) => k.startsWith('RunnerProviderframeworkonEvent'))[1].Properties;
  assert.deepEqual(framework.VpcConfig, runnerFn.VpcConfig);
  const sg = Object.keys(t.findResources('AWS::EC2::SecurityGroup')).find((k) => k.startsWith('RunnerSg'));
  assert.deepEqual(runnerFn.VpcConfig.SecurityGroupIds, [{ 'Fn::GetAtt': [sg, 'GroupId'] }]);
  assert.deepEqual(framework.VpcConfig.SubnetIds, runnerFn.VpcConfig.SubnetIds);
  const groups = t.findResources('AWS::Logs::LogGroup');
  for (const [fn, group] of [[runnerFn, built.runner.logGroup], [framework, built.runner.providerLogGroup]]) {
    const name = stack.getLogicalId(group.node.defaultChild);
    assert.deepEqual(fn.LoggingConfig.LogGroup, { Ref: name });
    assert.equal(groups[name].Properties.RetentionInDays, 90);
    assert.equal(groups[name].DeletionPolicy, 'Retain');
  }
});

test('the README\'s first example (worker queue for the CLI, alerts on the dataset\'s bus): no finding on our resources', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-nag-'));
  const app = new cdk.App({ outdir, builtinCloudFormationValidation: false });
  const stack = new cdk.Stack(app, 'First');
  const dogs = new DatasetMigration(stack, 'Dogs', {
    package: DepotPackage.fromFile(path.join(EXAMPLES, 'dogs.v1.package.json')),
    dataset: datasetFrom('dogs.dataset.json', { migrationMode: 'asynchronous', eventBusName: 'orders-bus' }),
    workerQueue: true,
  });
  new MigrationLifecycleAlerts(stack, 'Alerts', { topic: new sns.Topic(stack, 'AlertTopic'), datasets: [dogs], events: [LifecycleEvent.FAILED] });
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(), new ServerlessChecks());
  assert.throws(() => app.synth(), /Validation failed/);
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  const findings = report.pluginReports.flatMap((r) => r.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)));
  // Only the user's topic (no SSL-only policy) is reported.
  assert.deepEqual(findings, ['AwsSolutions-SNS3 First/AlertTopic/Resource']);
});

test('the Serverless pack runs as a plugin too: an unprotected queue of the user\'s is reported', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-nag-'));
  const app = new cdk.App({ outdir, builtinCloudFormationValidation: false });
  const stack = new cdk.Stack(app, 'Control');
  new sqs.Queue(stack, 'Plain');
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(), new ServerlessChecks());
  assert.throws(() => app.synth(), /Validation failed/);
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  const serverless = report.pluginReports.find((r) => r.pluginName === 'Serverless');
  assert.ok(serverless && serverless.violations.some((v) => v.ruleName === 'Serverless-SQSRedrivePolicy'), JSON.stringify(report));
});

test('the rename warning has an id a team can acknowledge once', () => {
  const { stack } = newStack(STACK);
  const built = build(stack);
  const warnings = Annotations.fromStack(stack).findWarning(`/${STACK}/Dogs`, Match.stringLikeRegexp('rename column'));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].entry.data, /\[ack: depot-migrate-cdk:rename\]$/);
  assert.equal(DatasetMigration.RENAME_WARNING_ID, 'depot-migrate-cdk:rename');
  // Acknowledged, it is gone from the synth output.
  cdk.Annotations.of(built.dogs).acknowledgeWarning(DatasetMigration.RENAME_WARNING_ID, 'checked: owner_name is renamed');
  const after = newStack(STACK);
  const again = build(after.stack);
  cdk.Annotations.of(again.dogs).acknowledgeWarning(DatasetMigration.RENAME_WARNING_ID, 'checked: owner_name is renamed');
  assert.equal(Annotations.fromStack(after.stack).findWarning(`/${STACK}/Dogs`, Match.stringLikeRegexp('rename column')).length, 0);
});
