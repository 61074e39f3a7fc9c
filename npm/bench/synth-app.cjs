'use strict';
// The synth benchmark's app: SERVICES services, each a Lambda function (code from the
// asset handler/), an SQS queue and a DynamoDB table; with WITH_DEPOT=1 each also gets a DatasetMigration (a 10-table
// package with a baseline, so the plan is not empty) and the app gets one
// MigrationLifecycleAlerts over all of them. Prints the in-process time from `new App`
// to the end of `app.synth()` (ms) as JSON, with the construction time of the first
// DatasetMigration and the median of the others; the script times the whole process too.
// Usage: WITH_DEPOT=0|1 SERVICES=50 OUTDIR=dir node synth-app.cjs
const t0 = process.hrtime.bigint();
const path = require('path');
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const sqs = require('aws-cdk-lib/aws-sqs');
const sns = require('aws-cdk-lib/aws-sns');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const withDepot = process.env.WITH_DEPOT === '1';
const depot = withDepot ? require('../lib') : undefined;
const { pkg, dataset } = require('./gen.cjs');
const tLoaded = process.hrtime.bigint();

const services = Number(process.env.SERVICES || 50);
const app = new cdk.App({ outdir: process.env.OUTDIR });
const stack = new cdk.Stack(app, 'Bench');
const topic = new sns.Topic(stack, 'Alerts');
const migrations = [];
// Construction time of each DatasetMigration: the first one also loads the core (reads,
// compiles and instantiates the wasm module); the difference to the others is that
// fixed cost.
const migrationMs = [];
for (let i = 0; i < services; i++) {
  const svc = new cdk.Resource(stack, `Service${i}`);
  new lambda.Function(svc, 'Handler', {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    // Lambda code from an asset, as service stacks usually ship it (so both apps load
    // CDK's asset machinery, which DatasetMigration's plan asset also uses).
    code: lambda.Code.fromAsset(path.join(__dirname, 'handler')),
  });
  new sqs.Queue(svc, 'Queue');
  new dynamodb.Table(svc, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
  if (withDepot) {
    const m0 = process.hrtime.bigint();
    migrations.push(new depot.DatasetMigration(svc, 'Migration', {
      package: depot.DepotPackage.fromObject(pkg(10, 8, true)),
      baseline: depot.DepotPackage.fromObject(pkg(10, 8, false)),
      dataset: { ...dataset, datasetId: `b3nch${String(i).padStart(7, '0')}`, datasetAlias: `Bench${i}` },
    }));
    migrationMs.push(Number(process.hrtime.bigint() - m0) / 1e6);
  }
}
if (withDepot) {
  new depot.MigrationLifecycleAlerts(stack, 'MigrationAlerts', { topic, datasets: migrations });
}
app.synth();
const tEnd = process.hrtime.bigint();
const rest = migrationMs.slice(1).sort((a, b) => a - b);
console.log(JSON.stringify({
  loadMs: Number(tLoaded - t0) / 1e6,
  synthMs: Number(tEnd - tLoaded) / 1e6,
  firstMigrationMs: migrationMs.length ? migrationMs[0] : null,
  otherMigrationMs: rest.length ? rest[Math.floor(rest.length / 2)] : null,
}));
