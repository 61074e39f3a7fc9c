#!/usr/bin/env node
// A small CDK app using depot-migrate-cdk, as a user writes one: two datasets (one
// synchronous with a committed baseline, one asynchronous with a worker queue) and
// lifecycle alerts to an SNS topic. `npx cdk synth` runs it (cdk.json); so does
// `node app.js`, which also exits 1 when synth reports an error, as the CDK CLI does.
'use strict';
const fs = require('fs');
const path = require('path');
const cdk = require('aws-cdk-lib');
const sns = require('aws-cdk-lib/aws-sns');
const { DatasetMigration, DepotPackage, MigrationLifecycleAlerts, LifecycleEvent } = require('depot-migrate-cdk');

const depot = (file) => path.join(__dirname, 'depot', file);
const datasetFile = (file) => JSON.parse(fs.readFileSync(depot(file), 'utf8'));

const app = new cdk.App();
const stack = new cdk.Stack(app, 'DepotExample');

// Synchronous: `depot-migrate apply --plan` in the pipeline runs the plan made here.
const dogs = new DatasetMigration(stack, 'Dogs', {
  package: DepotPackage.fromFile(depot('dogs.package.json')),
  baseline: DepotPackage.fromFile(depot('dogs.deployed.json')), // depot-migrate snapshot
  dataset: datasetFile('dogs.dataset.json'),
});

// Asynchronous: `depot-migrate submit` emits `desired`; the rule puts it in the queue
// that `depot-migrate worker --queue-url` reads.
const cats = new DatasetMigration(stack, 'Cats', {
  package: DepotPackage.fromObject(datasetFile('cats.package.json')),
  dataset: datasetFile('cats.dataset.json'),
  workerQueue: true,
});

const topic = new sns.Topic(stack, 'AlertTopic');
new MigrationLifecycleAlerts(stack, 'FailureAlerts', {
  topic,
  datasets: [dogs, cats],
  events: [LifecycleEvent.FAILED],
});
new MigrationLifecycleAlerts(stack, 'AllEvents', { topic, aliases: ['WsDevPgDogSrc'] });

new cdk.CfnOutput(stack, 'DogsVersionHash', { value: dogs.versionHash });
new cdk.CfnOutput(stack, 'DogsPlanHash', { value: dogs.planHash });
new cdk.CfnOutput(stack, 'DogsEnvironmentUri', { value: dogs.environmentUri });
new cdk.CfnOutput(stack, 'CatsVersionHash', { value: cats.versionHash });
new cdk.CfnOutput(stack, 'CatsWorkerQueueUrl', { value: cats.workerQueue.queueUrl });

const assembly = app.synth();
for (const s of assembly.stacks) {
  for (const m of s.messages) {
    console.error(`[${m.level}] ${m.id}: ${m.entry.data}`);
    if (m.level === 'error') process.exitCode = 1;
  }
}
