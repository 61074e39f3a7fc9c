'use strict';
// MigrationObservability: the archive rule and its log group policy, the metric filters
// (their patterns evaluated on real events written by the native CLI), the alarms, the
// saved queries, the dashboard, bad props, cfn-lint and cdk-nag.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const cdk = require('aws-cdk-lib');
const { Template, Match } = require('aws-cdk-lib/assertions');
const events = require('aws-cdk-lib/aws-events');
const logs = require('aws-cdk-lib/aws-logs');
const sns = require('aws-cdk-lib/aws-sns');
const { AwsSolutionsChecks, ServerlessChecks } = require('cdk-nag');
const { DatasetMigration, DepotPackage, MigrationObservability, MigrationFilterPatterns } = require('../lib');
const { EXAMPLES, newStack, datasetFrom, cli, nativeBin } = require('./support');

// ---- a faithful evaluator of the CloudWatch Logs JSON filter-pattern subset we use ------
// `{ SELECTOR OP VALUE }` terms joined by && and || with parentheses; OP is = or != on a
// quoted string (no wildcards), or =, !=, <, <=, >, >= on a number (numeric comparisons
// match only numeric properties, as CloudWatch does). Anything else is refused, so a
// pattern outside this subset fails the test instead of being guessed at. (moto_server's
// filter_log_events does not implement JSON patterns: it treats `{...}` as unsupported.)
function compileFilter(pattern) {
  const m = /^\{(.*)\}$/s.exec(pattern.trim());
  if (!m) throw new Error(`not a JSON filter pattern: ${pattern}`);
  const tokens = m[1].match(/\s*(\(|\)|&&|\|\||\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+|!=|>=|<=|=|<|>|"(?:[^"\\]|\\.)*"|-?[0-9]+(?:\.[0-9]+)?)\s*/g)
    .map((t) => t.trim());
  if (tokens.join('').replace(/\s/g, '') !== m[1].replace(/\s/g, '')) throw new Error(`unsupported syntax in ${pattern}`);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const get = (obj, sel) => sel.slice(2).split('.').reduce((o, k) => (o !== null && typeof o === 'object' ? o[k] : undefined), obj);
  function term() {
    if (peek() === '(') {
      next();
      const e = expr();
      if (next() !== ')') throw new Error(`missing ) in ${pattern}`);
      return e;
    }
    const sel = next();
    const op = next();
    const raw = next();
    if (!sel?.startsWith('$.') || !['=', '!=', '<', '<=', '>', '>='].includes(op) || raw === undefined) throw new Error(`bad term in ${pattern}`);
    if (raw.startsWith('"')) {
      if (!['=', '!='].includes(op)) throw new Error(`string comparison ${op} in ${pattern}`);
      const want = JSON.parse(raw);
      if (want.includes('*')) throw new Error(`wildcards are outside the evaluated subset: ${pattern}`);
      return (ev) => {
        const v = get(ev, sel);
        if (typeof v !== 'string') return false;
        return op === '=' ? v === want : v !== want;
      };
    }
    const n = Number(raw);
    return (ev) => {
      const v = get(ev, sel);
      if (typeof v !== 'number') return false;
      return { '=': v === n, '!=': v !== n, '<': v < n, '<=': v <= n, '>': v > n, '>=': v >= n }[op];
    };
  }
  function expr() {
    let left = term();
    while (peek() === '&&' || peek() === '||') {
      const op = next();
      const right = term();
      const l = left;
      left = op === '&&' ? (ev) => l(ev) && right(ev) : (ev) => l(ev) || right(ev);
    }
    return left;
  }
  const f = expr();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${pattern}`);
  // CloudWatch Logs applies a JSON pattern only to messages that are JSON objects.
  return (line) => {
    let ev;
    try { ev = JSON.parse(line); } catch { return false; }
    return ev !== null && typeof ev === 'object' && f(ev);
  };
}

test('the evaluator refuses what it does not implement', () => {
  assert.throws(() => compileFilter('{ $.a = "x*" }'), /wildcards/);
  assert.throws(() => compileFilter('{ $.a IS NULL }'), /unsupported|bad term/);
  assert.throws(() => compileFilter('ERROR'), /not a JSON filter pattern/);
  assert.equal(compileFilter('{ $.a.b = 2 }')('{"a":{"b":"2"}}'), false, 'numbers match numbers only');
  assert.equal(compileFilter('{ ($.a = "x") || ($.b >= 0) }')('{"a":"y","b":0}'), true);
});

// ---- real events from the native CLI ---------------------------------------------------
/** Lifecycle events (JSON lines) written by `depot-migrate apply --events jsonl:FILE`: a
 * deployed v1 then v2 of examples/dogs, and a failed run of a second dataset on the same
 * database (its table already exists). */
function realEvents() {
  nativeBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-obs-'));
  const db = `sqlite:${path.join(dir, 'depot.sqlite')}`;
  const file = path.join(dir, 'events.jsonl');
  const copy = path.join(dir, 'copy.dataset.json');
  fs.writeFileSync(copy, JSON.stringify(datasetFrom('dogs.dataset.json', { datasetId: '0bb0c0ffee01', datasetAlias: 'WsDevDogCopy' })));
  const run = (pkg, dataset) => spawnSync(nativeBin(), ['apply', '--package', path.join(EXAMPLES, pkg), '--dataset', dataset, '--db', db, '--events', `jsonl:${file}`], { encoding: 'utf8' });
  for (const pkg of ['dogs.v1.package.json', 'dogs.v2.package.json']) {
    const r = run(pkg, path.join(EXAMPLES, 'dogs.dataset.json'));
    assert.equal(r.status, 0, `apply ${pkg}: ${r.stderr}`);
  }
  const failed = run('dogs.v1.package.json', copy);
  assert.equal(failed.status, 1, `the copy's apply fails (table exists): ${failed.stderr}`);
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
}

let linesCache;
const lines = () => (linesCache ??= realEvents());
const detail = (l) => JSON.parse(l).detail;

test('metric filter patterns on real executor events', () => {
  const all = lines();
  const kinds = all.map((l) => `${detail(l).datasetId}:${detail(l).event}`);
  assert.deepEqual(kinds, ['9afc0c483ed3:attempted', '9afc0c483ed3:deployed', '9afc0c483ed3:attempted', '9afc0c483ed3:deployed',
    '0bb0c0ffee01:attempted', '0bb0c0ffee01:failed']);
  const match = (pattern) => all.filter(compileFilter(pattern)).map((l) => `${detail(l).datasetId}:${detail(l).event}`);
  assert.deepEqual(match(MigrationFilterPatterns.DEPLOYED), ['9afc0c483ed3:deployed', '9afc0c483ed3:deployed']);
  assert.deepEqual(match(MigrationFilterPatterns.FAILED), ['0bb0c0ffee01:failed']);
  // The real failure is class `step`: not a notStarted failure.
  const failedLine = all.find((l) => detail(l).event === 'failed');
  assert.equal(detail(failedLine).error.class, 'step');
  assert.deepEqual(match(MigrationFilterPatterns.NOT_STARTED), []);
  // A notStarted failure (the watchdog's, not yet emitted by this executor): the real
  // failed event with only its class changed.
  const notStarted = JSON.parse(failedLine);
  notStarted.detail.error = { ...notStarted.detail.error, class: 'notStarted', stepIndex: null, stepKey: null };
  assert.equal(compileFilter(MigrationFilterPatterns.NOT_STARTED)(JSON.stringify(notStarted)), true);
  assert.equal(compileFilter(MigrationFilterPatterns.FAILED)(JSON.stringify(notStarted)), true);
  // Durations: the executor's deployed and failed events carry durationMs and count;
  // attempted events carry none and never count; without the field nothing counts.
  assert.deepEqual(match(MigrationFilterPatterns.DURATION), ['9afc0c483ed3:deployed', '9afc0c483ed3:deployed', '0bb0c0ffee01:failed']);
  for (const l of all) {
    const d = detail(l);
    assert.equal(typeof d.durationMs === 'number', d.event === 'deployed' || d.event === 'failed', `durationMs on ${d.event}`);
  }
  const without = all.map((l) => { const e = JSON.parse(l); delete e.detail.durationMs; return JSON.stringify(e); });
  assert.deepEqual(without.filter(compileFilter(MigrationFilterPatterns.DURATION)), []);
  const asText = JSON.parse(all[1]);
  asText.detail.durationMs = '1234';
  assert.equal(compileFilter(MigrationFilterPatterns.DURATION)(JSON.stringify(asText)), false, 'a non-numeric durationMs is no duration');
});

// ---- the template ----------------------------------------------------------------------
function dogs(stack, id = 'Dogs', overrides = {}) {
  return new DatasetMigration(stack, id, {
    package: DepotPackage.fromFile(path.join(EXAMPLES, 'dogs.v2.package.json')),
    dataset: datasetFrom('dogs.dataset.json', overrides),
  });
}

function build() {
  const { app, stack } = newStack('Obs');
  const topic = new sns.Topic(stack, 'OnCall', { enforceSSL: true });
  const d = dogs(stack);
  const obs = new MigrationObservability(stack, 'Observability', { datasets: [d], datasetIds: ['c0ffee000001'], alarmTopic: topic });
  return { app, stack, obs, topic, template: Template.fromStack(stack) };
}

test('archive: the core\'s pattern on the dataset\'s bus, into a /aws/events/ log group with a resource policy for these rules', () => {
  const { template, obs } = build();
  const native = JSON.parse(cli('alert-rule', '--dataset', path.join(EXAMPLES, 'dogs.dataset.json'), '--format', 'json'));
  const allEvents = JSON.parse(JSON.stringify(native));
  // alert-rule narrows to the dataset; the archive keeps every dataset's events.
  delete allEvents.detail.datasetId;
  assert.deepEqual(obs.eventPattern, allEvents);
  template.resourceCountIs('AWS::Events::Rule', 1);
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: allEvents,
    Targets: [{
      Arn: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      Id: Match.anyValue(),
      DeadLetterConfig: { Arn: Match.anyValue() },
      RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
    }],
  });
  template.resourceCountIs('AWS::SQS::Queue', 1);
  template.hasResourceProperties('AWS::SQS::QueuePolicy', Match.objectLike({
    PolicyDocument: Match.objectLike({ Statement: Match.arrayWith([Match.objectLike({ Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' } })]) }),
  }));
  const [group] = Object.values(template.findResources('AWS::Logs::LogGroup'));
  assert.match(group.Properties.LogGroupName, /^\/aws\/events\/depot-migrate\//);
  assert.equal(group.Properties.RetentionInDays, 365);
  const [policy] = Object.values(template.findResources('AWS::Logs::ResourcePolicy'));
  const doc = JSON.parse(JSON.stringify(policy.Properties.PolicyDocument));
  const text = JSON.stringify(doc);
  for (const s of ['events.amazonaws.com', 'logs:PutLogEvents', 'logs:CreateLogStream', 'aws:SourceArn']) assert.ok(text.includes(s), `${s} in ${text}`);
  // No custom resource (CDK's CloudWatchLogGroup target would add a Lambda for the policy).
  template.resourceCountIs('AWS::Lambda::Function', 0);
  template.resourceCountIs('Custom::CloudwatchLogResourcePolicy', 0);
});

test('metric filters, alarms with the SNS action, saved queries, dashboard rows per dataset', () => {
  const { template, stack } = build();
  const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')).map((r) => r.Properties);
  const byName = Object.fromEntries(filters.map((f) => [f.MetricTransformations[0].MetricName, f]));
  assert.deepEqual(Object.keys(byName).sort(), ['Deployed', 'DurationMs', 'Failed', 'FailedTotal', 'NotStarted', 'NotStartedTotal']);
  assert.equal(byName.Failed.FilterPattern, MigrationFilterPatterns.FAILED);
  assert.equal(byName.DurationMs.FilterPattern, MigrationFilterPatterns.DURATION);
  assert.equal(byName.DurationMs.MetricTransformations[0].MetricValue, '$.detail.durationMs');
  assert.equal(byName.DurationMs.MetricTransformations[0].Unit, 'Milliseconds');
  assert.deepEqual(byName.Failed.MetricTransformations[0].Dimensions, [{ Key: 'DatasetId', Value: '$.detail.datasetId' }]);
  assert.equal(byName.FailedTotal.MetricTransformations[0].DefaultValue, 0);
  assert.equal(byName.NotStartedTotal.FilterPattern, MigrationFilterPatterns.NOT_STARTED);
  for (const f of filters) assert.equal(f.MetricTransformations[0].MetricNamespace, 'DepotMigrate');

  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
  assert.deepEqual(alarms.map((a) => a.MetricName).sort(), ['FailedTotal', 'NotStartedTotal']);
  const topicRef = { Ref: stack.getLogicalId(stack.node.findChild('OnCall').node.defaultChild) };
  for (const a of alarms) {
    assert.equal(a.Threshold, 1);
    assert.equal(a.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    assert.equal(a.TreatMissingData, 'notBreaching');
    assert.deepEqual(a.AlarmActions, [topicRef]);
    assert.deepEqual(a.OKActions, [topicRef]);
  }

  const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition')).map((r) => r.Properties);
  const names = queries.map((q) => q.Name).sort();
  assert.deepEqual(names, ['depot-migrate/failed migrations in the last 7 days', 'depot-migrate/history of 9afc0c483ed3',
    'depot-migrate/history of c0ffee000001', 'depot-migrate/history of one dataset']);
  const failedQuery = queries.find((q) => q.Name.includes('failed')).QueryString;
  assert.match(failedQuery, /filter detail\.event = "failed"/);
  assert.match(failedQuery, /detail\.error\.class/);
  assert.match(queries.find((q) => q.Name.endsWith('9afc0c483ed3')).QueryString, /filter detail\.datasetId = "9afc0c483ed3"/);

  const [dash] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = JSON.stringify(stack.resolve(dash.Properties.DashboardBody));
  for (const s of ['Last event of each dataset', 'latest(detail.event)', 'SEARCH(', '9afc0c483ed3: deployed and failed',
    '9afc0c483ed3: duration (ms)', 'c0ffee000001: last events', 'DurationMs']) {
    assert.ok(body.includes(s), `${s} on the dashboard`);
  }
});

test('buses: explicit eventBuses get one rule each; without datasets the default bus', () => {
  {
    const { stack } = newStack('Buses');
    const a = new events.EventBus(stack, 'A');
    const b = events.EventBus.fromEventBusName(stack, 'B', 'orders-bus');
    new MigrationObservability(stack, 'Obs', { eventBuses: [a, b] });
    const rules = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule')).map((r) => r.Properties.EventBusName);
    assert.equal(rules.length, 2);
    assert.deepEqual(rules[1], 'orders-bus');
  }
  {
    const { stack } = newStack('Default');
    new MigrationObservability(stack, 'Obs');
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Events::Rule', 1);
    const [rule] = Object.values(t.findResources('AWS::Events::Rule'));
    assert.equal(rule.Properties.EventBusName, undefined);
    t.resourceCountIs('AWS::Logs::QueryDefinition', 2);
    // No topic: the alarms have no action.
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) assert.equal(a.Properties.AlarmActions, undefined);
  }
  {
    const { stack } = newStack('DatasetBus');
    const d = dogs(stack, 'Dogs', { eventBusName: 'dogs-bus' });
    new MigrationObservability(stack, 'Obs', { datasets: [d], logRetention: logs.RetentionDays.ONE_MONTH, logGroupName: '/aws/events/dogs' });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'dogs-bus', EventPattern: Match.objectLike({ source: ['tech.stage.depot'] }) });
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/events/dogs', RetentionInDays: 30 });
  }
});

test('bad and conflicting props throw in the constructor', () => {
  const cases = [
    [(s) => ({ logGroup: new logs.LogGroup(s, 'G', { logGroupName: '/aws/events/x' }), logRetention: logs.RetentionDays.ONE_DAY }), /cannot be combined/],
    [(s) => ({ logGroup: new logs.LogGroup(s, 'G', { logGroupName: '/aws/events/x' }), logGroupName: '/aws/events/y' }), /cannot be combined/],
    [() => ({ logGroupName: 'depot-events' }), /must name a log group starting with "\/aws\/events\/"/],
    [(s) => ({ logGroup: logs.LogGroup.fromLogGroupName(s, 'G', 'plain') }), /props\.logGroup must name a log group starting/],
    [() => ({ datasets: [] }), /props\.datasets must be a non-empty list/],
    [() => ({ datasets: [{ datasetId: 'x' }] }), /props\.datasets\[0\] must be DatasetMigration/],
    [() => ({ datasetIds: ['bad id'] }), /props\.datasetIds\[0\]/],
    [() => ({ eventBuses: ['default'] }), /props\.eventBuses\[0\]/],
    [() => ({ metricNamespace: 'AWS/Events' }), /metricNamespace/],
    [() => ({ logRetention: 12345 }), /logRetention must be a logs\.RetentionDays/],
    [() => ({ alarmTopic: 'arn:aws:sns:eu-west-1:1:t' }), /alarmTopic must be an SNS topic/],
  ];
  for (const [props, re] of cases) {
    const { stack } = newStack('Bad');
    assert.throws(() => new MigrationObservability(stack, 'Obs', props(stack)), re);
  }
  const { stack } = newStack('Metric');
  const obs = new MigrationObservability(stack, 'Obs');
  assert.equal(obs.metric('Failed', 'abc').dimensions.DatasetId, 'abc');
  assert.throws(() => obs.metric('FailedTotal', 'abc'), /omit datasetId/);
  assert.throws(() => obs.metric('Failed'), /pass a datasetId/);
  assert.throws(() => obs.metric('Errors'), /metric name must be one of/);
});

test('cfn-lint accepts the template', () => {
  const { app } = build();
  const assembly = app.synth();
  const file = path.join(app.outdir, 'obs-lint.json');
  fs.writeFileSync(file, JSON.stringify(assembly.getStackByName('Obs').template));
  const lint = spawnSync('cfn-lint', ['--ignore-checks', 'W3005', '--', file], { encoding: 'utf8' });
  assert.equal(lint.error, undefined, `cfn-lint did not run: ${lint.error}`);
  assert.equal(lint.status, 0, `cfn-lint: ${lint.stdout}${lint.stderr}`);
});

test('cdk-nag AwsSolutions + Serverless: no finding on the construct\'s resources', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-obs-nag-'));
  const app = new cdk.App({ outdir, builtinCloudFormationValidation: false });
  const stack = new cdk.Stack(app, 'ObsNag');
  const topic = new sns.Topic(stack, 'OnCall', { enforceSSL: true });
  new MigrationObservability(stack, 'Observability', { datasetIds: ['9afc0c483ed3'], alarmTopic: topic });
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(), new ServerlessChecks());
  let error;
  try { app.synth(); } catch (e) { error = e; }
  const reportFile = path.join(outdir, 'validation-report.json');
  const findings = fs.existsSync(reportFile)
    ? JSON.parse(fs.readFileSync(reportFile, 'utf8')).pluginReports.flatMap((r) => r.violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)))
    : [];
  const ours = findings.filter((f) => f.split(' ')[1].startsWith('ObsNag/Observability/'));
  assert.deepEqual(ours, [], `findings on MigrationObservability resources:\n${ours.join('\n')}`);
  // The user's topic (SNS3 etc.) may have findings; nothing else.
  const others = findings.filter((f) => !f.split(' ')[1].startsWith('ObsNag/OnCall'));
  assert.deepEqual(others.filter((f) => !ours.includes(f)), []);
  if (error) assert.match(error.message, /Validation failed/);
});

