'use strict';
// The README's example stack (npm/README.md, "Migrating from inside the VPC"), as code
// the tests synthesize and lint. Keep the two in step.
const path = require('node:path');
const ec2 = require('aws-cdk-lib/aws-ec2');
const rds = require('aws-cdk-lib/aws-rds');
const sns = require('aws-cdk-lib/aws-sns');
const {
  DatasetMigration, DepotPackage, Engine, LifecycleEvent, MigrationLifecycleAlerts, MigrationMode, MigrationRunner,
} = require('../lib');

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');

function build(stack) {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const cluster = new rds.DatabaseCluster(stack, 'Db', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    writer: rds.ClusterInstance.serverlessV2('Writer'),
    serverlessV2MinCapacity: 0.5,
    serverlessV2MaxCapacity: 2,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    defaultDatabaseName: 'app',
    storageEncrypted: true,
  });
  const runnerSg = new ec2.SecurityGroup(stack, 'RunnerSg', { vpc, description: 'depot-migrate runner' });
  cluster.connections.allowDefaultPortFrom(runnerSg, 'depot-migrate runner');

  const runner = new MigrationRunner(stack, 'Runner', {
    vpc,
    securityGroups: [runnerSg],
    secret: cluster.secret,
  });
  const dogs = new DatasetMigration(stack, 'Dogs', {
    package: DepotPackage.fromFile(path.join(EXAMPLES, 'dogs.v2.package.json')),
    baseline: DepotPackage.fromFile(path.join(EXAMPLES, 'dogs.v1.package.json')),
    dataset: {
      environmentId: 'e2e404529091ed2',
      datasetId: 'bdc659741d5a',
      datasetAlias: 'WsDevPgDogSrc',
      engine: Engine.AURORA_POSTGRESQL,
      schema: 'dogs',
      migrationMode: MigrationMode.SYNCHRONOUS,
    },
    runner,
  });
  const cats = new DatasetMigration(stack, 'Cats', {
    package: DepotPackage.fromFile(path.join(EXAMPLES, 'cdk-app', 'depot', 'cats.package.json')),
    dataset: {
      environmentId: 'e2e404529091ed2',
      datasetId: 'c47500000001',
      datasetAlias: 'WsDevCatSrc',
      engine: 'aurora-postgresql',
      schema: 'cats',
      migrationMode: 'asynchronous',
    },
    runner,
  });
  const topic = new sns.Topic(stack, 'Alerts');
  const alerts = new MigrationLifecycleAlerts(stack, 'MigrationAlerts', {
    topic,
    datasets: [dogs, cats],
    events: [LifecycleEvent.FAILED],
  });
  return { runner, dogs, cats, alerts, topic };
}

module.exports = { build };
