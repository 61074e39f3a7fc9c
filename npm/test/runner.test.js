'use strict';
// MigrationRunner: the function, its permissions, the Provider and one custom resource
// per synchronous dataset, the worker queue wiring of asynchronous ones, the watchdog.
// Needs npm/lambda/x86_64/bootstrap.zip (scripts/build-lambda.sh x86_64, which
// scripts/test.sh runs before these tests).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const cdk = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const events = require('aws-cdk-lib/aws-events');
const lambda = require('aws-cdk-lib/aws-lambda');
const logs = require('aws-cdk-lib/aws-logs');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const { Template, Match } = require('aws-cdk-lib/assertions');
const { DatasetMigration, DepotPackage, MigrationRunner } = require('../lib');
const { EXAMPLES, newStack, datasetFrom } = require('./support');

const ex = (f) => path.join(EXAMPLES, f);

function setup() {
  const { app, stack } = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const secret = new secretsmanager.Secret(stack, 'DbSecret');
  const dbSg = new ec2.SecurityGroup(stack, 'RunnerSg', { vpc });
  const runner = new MigrationRunner(stack, 'Runner', { vpc, secret, securityGroups: [dbSg] });
  return { app, stack, vpc, secret, runner };
}

/** Every IAM statement of the function's policies, flattened. */
function statements(template) {
  const out = [];
  for (const p of Object.values(template.findResources('AWS::IAM::Policy'))) {
    for (const s of p.Properties.PolicyDocument.Statement) {
      out.push({ roles: p.Properties.Roles, ...s });
    }
  }
  return out;
}

function actions(s) {
  return [].concat(s.Action);
}

test('the function: provided.al2023, bootstrap, in the VPC, timeout and environment without credentials', () => {
  const { stack, runner } = setup();
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'provided.al2023',
    Handler: 'bootstrap',
    Architectures: ['x86_64'],
    Timeout: 900,
    MemorySize: 512,
    VpcConfig: {
      SubnetIds: Match.anyValue(),
      SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^RunnerSg'), 'GroupId'] }],
    },
    Environment: {
      Variables: {
        DEPOT_DB_SECRET_ARN: { Ref: Match.stringLikeRegexp('^DbSecret') },
        DEPOT_DB_SSLMODE: 'require',
        DEPOT_EVENT_BUS: 'default',
        DEPOT_MAX_DURATION: '900s',
        DEPOT_SQS_VISIBILITY_SECONDS: '960',
        DEPOT_RUNNER_OPERATIONS: 'status,history,snapshot,list,wait',
      },
    },
  });
  const env = JSON.stringify(t.findResources('AWS::Lambda::Function'));
  assert.ok(!/password/i.test(env), 'no password in any function environment');
  assert.equal(runner.architecture.name, 'x86_64');
});

test('least privilege: read the secret, PutEvents on the default bus, nothing else without datasets', () => {
  const { stack } = setup();
  const t = Template.fromStack(stack);
  const runnerStatements = statements(t).filter((s) =>
    JSON.stringify(s.roles).includes('RunnerFunctionServiceRole'));
  const all = runnerStatements.flatMap(actions).sort();
  assert.deepEqual(all, ['events:PutEvents', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'].sort());
  const put = runnerStatements.find((s) => actions(s).includes('events:PutEvents'));
  assert.match(JSON.stringify(put.Resource), /event-bus\/default/);
  const get = runnerStatements.find((s) => actions(s).includes('secretsmanager:GetSecretValue'));
  assert.deepEqual(get.Resource, { Ref: Object.keys(t.findResources('AWS::SecretsManager::Secret'))[0] });
});

test('a synchronous dataset gets one custom resource with its version hash and bundle asset', () => {
  const { app, stack, runner } = setup();
  const m = new DatasetMigration(stack, 'Dogs', {
    package: DepotPackage.fromFile(ex('dogs.v2.package.json')),
    baseline: DepotPackage.fromFile(ex('dogs.v1.package.json')),
    dataset: datasetFrom('dogs.postgres.dataset.json', { eventBusName: 'depot-bus' }),
    runner,
  });
  const t = Template.fromStack(stack);
  const crs = t.findResources('Custom::DepotMigration');
  assert.equal(Object.keys(crs).length, 1);
  const props = Object.values(crs)[0].Properties;
  assert.equal(props.versionHash, m.versionHash);
  assert.ok(props.bundleBucket && props.bundleKey, JSON.stringify(props));
  assert.deepEqual(props.ServiceToken['Fn::GetAtt'][1], 'Arn');
  assert.match(props.ServiceToken['Fn::GetAtt'][0], /^RunnerProviderframeworkonEvent/);
  assert.ok(Object.values(crs)[0].DependsOn.some((d) => /RunnerFunctionServiceRoleDefaultPolicy/.test(d)));

  // The bundle asset holds what the function reads, hashing to the same version.
  const asset = m.node.findChild('Bundle');
  const bundle = JSON.parse(fs.readFileSync(path.join(app.outdir, asset.assetPath), 'utf8'));
  assert.equal(bundle.formatVersion, 1);
  assert.equal(bundle.versionHash, m.versionHash);
  assert.deepEqual(bundle.plan, JSON.parse(m.planJson));
  assert.deepEqual(bundle.dataset, JSON.parse(m.datasetJson));
  assert.deepEqual(bundle.package, JSON.parse(fs.readFileSync(ex('dogs.v2.package.json'), 'utf8')));

  // The function may read the bundle and put events on the dataset's bus.
  const st = statements(t);
  // Exactly the bundle object (bucket/key), nothing on the bucket (test/nag.test.js has the full ARN).
  const s3 = st.filter((s) => actions(s).some((a) => a.startsWith('s3:')));
  assert.equal(s3.length, 1, JSON.stringify(s3));
  assert.deepEqual(actions(s3[0]), ['s3:GetObject']);
  assert.equal(s3[0].Resource['Fn::Join'][1].at(-1), `/${props.bundleKey}`);
  const put = st.filter((s) => actions(s).includes('events:PutEvents'));
  assert.ok(put.some((s) => /event-bus\/depot-bus/.test(JSON.stringify(s.Resource))), JSON.stringify(put));
  // No worker queue for a synchronous dataset.
  t.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
});

test('a new version changes versionHash and the bundle key, so cdk deploy sends an Update', () => {
  const a = setup();
  new DatasetMigration(a.stack, 'Dogs', { package: DepotPackage.fromFile(ex('dogs.v1.package.json')), dataset: datasetFrom('dogs.postgres.dataset.json'), runner: a.runner });
  const b = setup();
  new DatasetMigration(b.stack, 'Dogs', { package: DepotPackage.fromFile(ex('dogs.v2.package.json')), dataset: datasetFrom('dogs.postgres.dataset.json'), runner: b.runner });
  const pa = Object.values(Template.fromStack(a.stack).findResources('Custom::DepotMigration'))[0].Properties;
  const pb = Object.values(Template.fromStack(b.stack).findResources('Custom::DepotMigration'))[0].Properties;
  assert.notEqual(pa.versionHash, pb.versionHash);
  assert.notDeepEqual(pa.bundleKey, pb.bundleKey);
});

test('an asynchronous dataset: rule -> queue (with DLQ) -> the function, batch item failures reported', () => {
  const { stack, runner } = setup();
  const m = new DatasetMigration(stack, 'Cats', {
    package: DepotPackage.fromFile(ex('dogs.v1.package.json')),
    dataset: datasetFrom('dogs.postgres.dataset.json', { migrationMode: 'asynchronous' }),
    runner,
  });
  const t = Template.fromStack(stack);
  t.resourceCountIs('Custom::DepotMigration', 0);
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: Match.stringLikeRegexp('^RunnerFunction') },
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CatsWorkerQueue'), 'Arn'] },
    BatchSize: 1,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
  t.hasResourceProperties('AWS::SQS::Queue', {
    RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CatsWorkerDeadLetterQueue'), 'Arn'] } },
  });
  t.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: Match.objectLike({ detail: Match.objectLike({ event: ['desired'], datasetId: [m.datasetId] }) }),
  });
  const consume = statements(t).find((s) => actions(s).includes('sqs:ReceiveMessage'));
  assert.ok(consume && actions(consume).includes('sqs:ChangeMessageVisibility'), JSON.stringify(consume));
  assert.match(JSON.stringify(consume.Resource), /CatsWorkerQueue/);
});

test('caBundleFile ships the CA certificates as a layer named by PGSSLROOTCERT', () => {
  const { stack } = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1 });
  const pem = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'dm-ca-')), 'ca.pem');
  fs.writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  new MigrationRunner(stack, 'Runner', { vpc, secret: new secretsmanager.Secret(stack, 'S'), caBundleFile: pem });
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::Lambda::LayerVersion', 1);
  t.hasResourceProperties('AWS::Lambda::Function', {
    Layers: [{ Ref: Match.stringLikeRegexp('^RunnerCaBundle') }],
    Environment: { Variables: Match.objectLike({ PGSSLROOTCERT: '/opt/depot-migrate-ca.pem' }) },
  });
});

test('options: per-queue cap, reserved concurrency, log retention, tracing', () => {
  const { stack } = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1 });
  const runner = new MigrationRunner(stack, 'Runner', {
    vpc, secret: new secretsmanager.Secret(stack, 'S'),
    maxConcurrencyPerQueue: 5, reservedConcurrentExecutions: 10,
    logRetention: logs.RetentionDays.ONE_WEEK, logRemovalPolicy: cdk.RemovalPolicy.DESTROY,
    tracing: lambda.Tracing.ACTIVE,
  });
  new DatasetMigration(stack, 'Cats', {
    package: DepotPackage.fromFile(ex('dogs.v1.package.json')),
    dataset: datasetFrom('dogs.postgres.dataset.json', { migrationMode: 'asynchronous' }),
    runner,
  });
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 5 } });
  t.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', ReservedConcurrentExecutions: 10, TracingConfig: { Mode: 'Active' } });
  const groups = Object.values(t.findResources('AWS::Logs::LogGroup'));
  assert.equal(groups.length, 2);
  for (const g of groups) {
    assert.equal(g.Properties.RetentionInDays, 7);
    assert.equal(g.DeletionPolicy, 'Delete');
  }
  // With tracing active there is nothing to acknowledge for Serverless-LambdaTracing on the function.
  const acks = runner.function.node.defaultChild.node.metadata.filter((m) => m.type === cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
  assert.ok(acks.length > 0 && acks.every((m) => !Object.keys(m.data).some((k) => k.includes('LambdaTracing'))), JSON.stringify(acks));
});

test('the watchdog runs on a schedule', () => {
  const { stack } = setup();
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(5 minutes)',
    Targets: [Match.objectLike({
      Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RunnerFunction'), 'Arn'] },
      Input: JSON.stringify({ depotMigrate: 'watchdog' }),
    })],
  });
  t.hasResourceProperties('AWS::Lambda::Permission', {
    Principal: 'events.amazonaws.com',
    Action: 'lambda:InvokeFunction',
  });
});

test('architecture arm64 uses the arm64 bootstrap; bad props are refused with the value', () => {
  const { stack } = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1 });
  const secret = new secretsmanager.Secret(stack, 'S');
  const armZip = path.join(__dirname, '..', 'lambda', 'arm64', 'bootstrap.zip');
  if (fs.existsSync(armZip)) {
    new MigrationRunner(stack, 'Arm', { vpc, secret, architecture: lambda.Architecture.ARM_64 });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Architectures: ['arm64'] });
  } else {
    // CI builds x86_64 only (the release job builds both): the error says what to do.
    assert.throws(() => new MigrationRunner(stack, 'Arm', { vpc, secret, architecture: lambda.Architecture.ARM_64 }),
      /arm64 bootstrap is not in this package.*build-lambda\.sh arm64/);
  }
  assert.throws(() => new MigrationRunner(stack, 'T', { vpc, secret, timeout: cdk.Duration.minutes(20) }),
    /props\.timeout must be a Duration from 1 to 15 minutes/);
  assert.throws(() => new MigrationRunner(stack, 'M', { vpc, secret, memorySize: 64 }), /props\.memorySize .* got 64/);
  assert.throws(() => new MigrationRunner(stack, 'L', { vpc, secret, sslMode: 'verify-full' }), /sslMode .*verify-full/);
  assert.throws(() => new MigrationRunner(stack, 'V', { secret }), /props\.vpc is required/);
  assert.throws(() => new MigrationRunner(stack, 'Q', { vpc, secret, maxConcurrencyPerQueue: 1 }), /maxConcurrencyPerQueue must be an integer from 2 to 1000.* got 1/);
  assert.throws(() => new MigrationRunner(stack, 'R', { vpc, secret, reservedConcurrentExecutions: 0 }), /reservedConcurrentExecutions must be a positive integer/);
  assert.throws(() => new MigrationRunner(stack, 'G', { vpc, secret, logRetention: 4 }), /logRetention must be a logs\.RetentionDays value, got 4/);
  assert.throws(() => new MigrationRunner(stack, 'C', { vpc, secret, caBundleFile: ex('dogs.v1.package.json') }),
    /caBundleFile must be a PEM file/);
  assert.throws(() => new DatasetMigration(stack, 'X', {
    package: DepotPackage.fromFile(ex('dogs.v1.package.json')),
    dataset: datasetFrom('dogs.postgres.dataset.json'),
    runner: { not: 'a runner' },
  }), /props\.runner must be a MigrationRunner/);
});

test('the README example stack synthesizes (VPC, Aurora PostgreSQL, secret, runner, alerts)', () => {
  const { app, stack } = newStack('ReadmeExample');
  require('./readme-example').build(stack);
  const assembly = app.synth();
  const template = assembly.getStackByName('ReadmeExample').template;
  const types = Object.values(template.Resources).map((r) => r.Type);
  for (const type of ['AWS::RDS::DBCluster', 'Custom::DepotMigration', 'AWS::Lambda::Function', 'AWS::Events::Rule', 'AWS::SNS::Topic']) {
    assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
  }
  // cfn-lint (scripts/setup.sh installs it); W3005 is CDK's own redundant DependsOn.
  const file = path.join(app.outdir, 'readme-example.json');
  fs.writeFileSync(file, JSON.stringify(template));
  const lint = spawnSync('cfn-lint', ['--ignore-checks', 'W3005', '--', file], { encoding: 'utf8' });
  assert.equal(lint.error, undefined, `cfn-lint did not run: ${lint.error}`);
  assert.equal(lint.status, 0, `cfn-lint: ${lint.stdout}${lint.stderr}`);
});

test('grantRead and grantOperate: exactly lambda:InvokeFunction on the function; operate allows the operations that change state', () => {
  const iam = require('aws-cdk-lib/aws-iam');
  const stacks = () => {
    const { stack, runner } = setup();
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    const onCall = new iam.Role(stack, 'OnCall', { assumedBy: new iam.AccountRootPrincipal() });
    runner.grantRead(reader);
    return { stack, runner, onCall };
  };
  // Only grantRead.
  let t = Template.fromStack(stacks().stack);
  const of = (template, role) => statements(template).filter((s) => JSON.stringify(s.roles).includes(role));
  const read = of(t, 'Reader');
  assert.equal(read.length, 1, JSON.stringify(read));
  assert.equal(read[0].Effect, 'Allow');
  assert.equal(read[0].Action, 'lambda:InvokeFunction', 'one action, no wildcard');
  assert.deepEqual(Object.keys(read[0].Resource), ['Fn::GetAtt'], 'the function itself, not its versions (ARN:*)');
  assert.match(read[0].Resource['Fn::GetAtt'][0], /^RunnerFunction/);
  assert.equal(read[0].Resource['Fn::GetAtt'][1], 'Arn');
  t.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ DEPOT_RUNNER_OPERATIONS: 'status,history,snapshot,list,wait' }) },
  });

  // grantRead and grantOperate.
  const { stack, runner, onCall } = stacks();
  runner.grantOperate(onCall);
  t = Template.fromStack(stack);
  const op = of(t, 'OnCall');
  assert.equal(op.length, 1, JSON.stringify(op));
  assert.equal(op[0].Action, 'lambda:InvokeFunction', 'one action, no wildcard');
  assert.deepEqual(op[0].Resource, read[0].Resource, 'the same function, nothing more');
  t.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ DEPOT_RUNNER_OPERATIONS: 'status,history,snapshot,list,wait,recover,eventsFlush,watchdog' }) },
  });
  // The function's own role gets nothing from these grants.
  const fnRole = JSON.stringify(statements(t).filter((s) => JSON.stringify(s.roles).includes('RunnerFunctionServiceRole')));
  assert.ok(!fnRole.includes('lambda:InvokeFunction'), fnRole);
  assert.throws(() => runner.grantRead(undefined), /grantRead: grantee must be an iam.IGrantable/);
  assert.throws(() => runner.grantOperate('arn:aws:iam::1:role/x'), /grantOperate: grantee must be an iam.IGrantable/);
});
