import { Annotations, AssetHashType, Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as s3_assets from 'aws-cdk-lib/aws-s3-assets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { writeCachedFile } from './cache';
import { call, preview } from './core';
import { Engine, MigrationMode } from './dataset-config';
import { toEventPattern } from './pattern';
import { DepotPackage } from './package';
import { MigrationRunner } from './runner';

/**
 * Which destructive plan steps a dataset accepts (the dataset config's
 * `allowDestructive`). Acknowledging one change does not open the door to the next.
 */
export class AllowDestructive {
  /** No destructive step is allowed (the default). */
  public static none(): AllowDestructive {
    return new AllowDestructive(false);
  }

  /** Every destructive step is allowed. Prefer `steps`, which allows only what you checked. */
  public static all(): AllowDestructive {
    return new AllowDestructive(true);
  }

  /**
   * Only the destructive steps with these keys (`dropColumn:dog.weight`), as the plan
   * and the synth error name them.
   *
   * @param keys plan step keys
   */
  public static steps(keys: string[]): AllowDestructive {
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) {
      throw new Error(`AllowDestructive.steps: keys must be a list of plan step keys such as "dropColumn:dog.weight", got ${preview(keys)}`);
    }
    return new AllowDestructive([...keys]);
  }

  /** The value written as the dataset config's `allowDestructive`: `true`, `false` or the keys. */
  public readonly value: any;

  private constructor(value: boolean | string[]) {
    this.value = value;
  }
}

/**
 * A dataset config: the same members as a `*.dataset.json` file (docs/design.md, "Inputs").
 * Connection strings and credentials never go here.
 */
export interface DatasetConfig {
  /** The environment id (the `environmentId` of the Depot migrations observability page), e.g. `e2e404529091ed2`. Part of the version hash. */
  readonly environmentId: string;
  /** The dataset id, e.g. `9afc0c483ed3`. Part of the version hash. */
  readonly datasetId: string;
  /**
   * A human-readable alias carried in events (`WsDevDogSrc`). Not part of the version hash.
   * @default - none (events carry an empty alias)
   */
  readonly datasetAlias?: string;
  /** The database engine (in JavaScript also its string, `postgres`, `aurora-postgresql`, `snowflake` or `sqlite`). Part of the version hash. */
  readonly engine: Engine;
  /** The database schema that holds the dataset's tables (an identifier). Part of the version hash. */
  readonly schema: string;
  /**
   * `synchronous` (the executor applies at once) or `asynchronous` (`submit` emits
   * `desired` and a worker applies later; see `DatasetMigrationProps.workerQueue`).
   * @default MigrationMode.SYNCHRONOUS
   */
  readonly migrationMode?: MigrationMode;
  /**
   * The EventBridge bus the executor publishes lifecycle events to: a name or an ARN.
   * @default - the account's default bus
   */
  readonly eventBusName?: string;
  /**
   * Which destructive steps the dataset accepts. Synth fails on any other destructive step.
   * @default AllowDestructive.none()
   */
  readonly allowDestructive?: AllowDestructive;
}

/** Options of the worker queue of an asynchronous dataset (`DatasetMigrationProps.workerQueue`). */
export interface WorkerQueueOptions {
  /**
   * How long a worker has a `desired` message before another worker may receive it.
   * Longer than the longest migration: a migration runs once per submission anyway (the
   * worker's compare-and-set skips duplicates), but a short timeout wakes a second worker
   * for nothing.
   * @default Duration.minutes(15)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How many times a message is received before it moves to the dead-letter queue.
   * @default 3
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the queues keep messages.
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
}

/** Props of `DatasetMigration`. */
export interface DatasetMigrationProps {
  /** The package the dataset should have: `DepotPackage.fromFile(...)` or `DepotPackage.fromObject(...)`. */
  readonly package: DepotPackage;
  /** The dataset config. */
  readonly dataset: DatasetConfig;
  /**
   * The package last deployed (`depot-migrate snapshot --dataset D --db URL` prints it),
   * committed beside the package. The synth-time plan starts from it, so destructive
   * changes and renames are found at synth. The executor never trusts it: it recomputes
   * the plan from the snapshot stored in the database.
   * @default - none: the plan is a fresh create and the destructive gate has nothing to compare
   */
  readonly baseline?: DepotPackage;
  /**
   * For an asynchronous dataset: create an EventBridge rule on this dataset's `desired`
   * events (on the dataset's bus, or `eventBus`) that sends them to an SQS queue with a
   * dead-letter queue, for `depot-migrate worker --queue-url` (see `workerQueue` and
   * `workerQueueUrl`). The dead-letter queue receives both the messages a worker failed on
   * `maxReceiveCount` times and the events EventBridge could not deliver to the queue
   * (after 185 retries over 24 hours). Both queues use SQS-managed encryption and refuse
   * requests without TLS. Throws on a synchronous dataset, which emits no `desired` event.
   * @default false
   */
  readonly workerQueue?: boolean;
  /**
   * Options of the worker queue. Only with `workerQueue: true`.
   * @default - the defaults of `WorkerQueueOptions`
   */
  readonly workerQueueOptions?: WorkerQueueOptions;
  /**
   * The bus the worker rule listens on.
   * @default - the bus named by `dataset.eventBusName`, else the default bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Migrates the dataset from inside its VPC during `cdk deploy`: a synchronous dataset
   * gets a custom resource carrying its version hash and migration bundle; an
   * asynchronous one gets its worker queue (as with `workerQueue: true`) consumed by the
   * runner's function.
   * @default - no runner: migrate with the `depot-migrate` CLI
   */
  readonly runner?: MigrationRunner;
}

/**
 * A dataset's schema migration, computed at synth time by the depot-migrate core
 * (WebAssembly): the version hash, the plan (stored as an S3 asset whose URI is the
 * `environmentUri` of the dataset's events), and a synth error for destructive steps that
 * `dataset.allowDestructive` does not allow (a warning for each rename).
 *
 * Everything a deployment needs is public (`versionHash`, `planAsset`, `planHash`,
 * `datasetJson`, `workerQueue`), so the executor can be wired to it:
 * `depot-migrate apply --plan` in a pipeline, `depot-migrate worker --queue-url`, or the
 * `runner` prop (a `MigrationRunner` that migrates during `cdk deploy`).
 *
 * @example
 * const dogs = new DatasetMigration(this, 'Dogs', {
 *   package: DepotPackage.fromFile('depot/dogs.package.json'),
 *   baseline: DepotPackage.fromFile('depot/dogs.deployed.json'),
 *   dataset: { environmentId: 'e2e404529091ed2', datasetId: '9afc0c483ed3',
 *     datasetAlias: 'WsDevDogSrc', engine: Engine.POSTGRES, schema: 'dogs' },
 * });
 * new CfnOutput(this, 'DogsVersion', { value: dogs.versionHash });
 */
export class DatasetMigration extends Construct {
  /**
   * The id of the synth warning on each rename step. Once a rename is checked,
   * `Annotations.of(dataset).acknowledgeWarning(DatasetMigration.RENAME_WARNING_ID, 'checked')`
   * acknowledges it.
   */
  public static readonly RENAME_WARNING_ID = 'depot-migrate-cdk:rename';

  /** The version hash: lowercase hex SHA-256, the same as `depot-migrate hash` for the same files. */
  public readonly versionHash: string;
  /** The version the plan starts from (the baseline's hash), or undefined for a fresh create. */
  public readonly fromVersionHash?: string;
  /** The plan's hash (`planHash`), which `depot-migrate apply --plan` checks. */
  public readonly planHash: string;
  /** The plan as JSON text, exactly as `depot-migrate plan` prints it for the same inputs. */
  public readonly planJson: string;
  /** One line per plan step (`~ rename column dog.owner_name to owner (renameColumn:dog.owner)`), or `no changes`. */
  public readonly planSummary: string;
  /** Whether any plan step is destructive (allowed or not). */
  public readonly destructive: boolean;
  /** The keys of the destructive changes that `dataset.allowDestructive` does not allow (each is a synth error). */
  public readonly disallowedSteps: string[];
  /** The plan file as an S3 asset. */
  public readonly planAsset: s3_assets.Asset;
  /** The S3 URI of the plan (`s3://bucket/key.json`): the `environmentUri` of the dataset's lifecycle events. */
  public readonly environmentUri: string;
  /** The dataset id. */
  public readonly datasetId: string;
  /** The dataset alias. @default - none */
  public readonly datasetAlias?: string;
  /** The bus the dataset's lifecycle events go to (`dataset.eventBusName`). @default - the default bus */
  public readonly eventBusName?: string;
  /** The dataset config as JSON text, the content of a `*.dataset.json` file for the CLI. */
  public readonly datasetJson: string;
  /** `synchronous` or `asynchronous`. */
  public readonly migrationMode: MigrationMode;
  /** The queue of `desired` events for `depot-migrate worker --queue-url`. @default - only with `workerQueue: true` */
  public readonly workerQueue?: sqs.IQueue;
  /** The worker queue's dead-letter queue. @default - only with `workerQueue: true` */
  public readonly workerDeadLetterQueue?: sqs.IQueue;
  /** The rule that sends this dataset's `desired` events to the worker queue. @default - only with `workerQueue: true` */
  public readonly workerRule?: events.Rule;

  /**
   * @param scope the parent construct
   * @param id the construct id
   * @param props the package, the dataset config and options
   */
  constructor(scope: Construct, id: string, props: DatasetMigrationProps) {
    super(scope, id);
    const what = `DatasetMigration ${this.node.path}`;
    if (props === null || typeof props !== 'object') {
      throw new Error(`${what}: props are required ({ package, dataset }), got ${preview(props)}`);
    }
    if (!(props.package instanceof DepotPackage)) {
      throw new Error(`${what}: props.package must be a DepotPackage (DepotPackage.fromFile or DepotPackage.fromObject), got ${preview(props.package)}`);
    }
    if (props.baseline !== undefined && !(props.baseline instanceof DepotPackage)) {
      throw new Error(`${what}: props.baseline must be a DepotPackage (DepotPackage.fromFile or DepotPackage.fromObject) or absent, got ${preview(props.baseline)}`);
    }
    if (props.dataset === null || typeof props.dataset !== 'object' || Array.isArray(props.dataset)) {
      throw new Error(`${what}: props.dataset must be a dataset config object ({ environmentId, datasetId, engine, schema, ... }), got ${preview(props.dataset)}`);
    }
    if (props.workerQueue !== undefined && typeof props.workerQueue !== 'boolean') {
      throw new Error(`${what}: props.workerQueue must be true or false, got ${preview(props.workerQueue)}`);
    }
    if (props.workerQueueOptions !== undefined && props.workerQueue !== true) {
      throw new Error(`${what}: props.workerQueueOptions is set but props.workerQueue is ${preview(props.workerQueue)}; set workerQueue: true or remove workerQueueOptions`);
    }

    const dataset = datasetObject(props.dataset);
    this.datasetJson = JSON.stringify(dataset);
    const sources = {
      package: props.package._source(),
      from: props.baseline
        ? { ...props.baseline._source(), name: `props.baseline (${props.baseline._source().name})` }
        : undefined,
      dataset: { name: 'props.dataset', value: dataset },
    };
    const invalid = `${what}: invalid props`;
    this.planJson = call(invalid, sources, (core) =>
      core.plan(props.baseline ? props.baseline.json : null, props.package.json, this.datasetJson));
    this.disallowedSteps = JSON.parse(call(invalid, sources, (core) => core.disallowed(this.planJson, this.datasetJson)));

    const plan = JSON.parse(this.planJson) as PlanJson;
    // The plan's toVersion is the core's version hash of (package, dataset): reading it
    // here saves a second parse of the package (the npm tests check it equals
    // versionHash and the CLI's `hash`).
    this.versionHash = plan.toVersion;
    this.planHash = plan.planHash;
    this.fromVersionHash = plan.fromVersion ?? undefined;
    this.destructive = plan.destructive;
    this.planSummary = call(invalid, sources, (core) => core.planSummary(this.planJson));
    this.datasetId = props.dataset.datasetId;
    this.datasetAlias = props.dataset.datasetAlias;
    this.migrationMode = props.dataset.migrationMode ?? MigrationMode.SYNCHRONOUS;
    this.eventBusName = props.dataset.eventBusName;

    // The plan file, named by its hash; the asset's hash is derived from planHash, so
    // the S3 object (and environmentUri) changes exactly when the plan does.
    this.planAsset = new s3_assets.Asset(this, 'Plan', {
      path: writeCachedFile('plans', this.planHash, this.planJson + '\n'),
      assetHash: this.planHash,
      assetHashType: AssetHashType.CUSTOM,
    });
    this.environmentUri = this.planAsset.s3ObjectUrl;

    if (this.disallowedSteps.length > 0) {
      const keys = this.disallowedSteps;
      Annotations.of(this).addError(
        `destructive change${keys.length > 1 ? 's' : ''} not allowed by dataset.allowDestructive: ${keys.join(', ')}. ` +
        `If the data loss is intended, allow exactly ${keys.length > 1 ? 'these steps' : 'this step'}: ` +
        `allowDestructive: AllowDestructive.steps(${JSON.stringify(keys)}) in the dataset props ` +
        `(in a *.dataset.json file: "allowDestructive": ${JSON.stringify(keys)}).`);
    }
    for (const warning of JSON.parse(call(invalid, sources, (core) => core.renameWarnings(this.planJson))) as string[]) {
      Annotations.of(this).addWarningV2(DatasetMigration.RENAME_WARNING_ID, warning);
    }

    // An asynchronous dataset with a runner gets its worker queue, as with workerQueue: true.
    const workerQueue = props.workerQueue || (props.runner !== undefined && this.migrationMode === MigrationMode.ASYNCHRONOUS);
    let bus: events.IEventBus | undefined = props.eventBus;
    if (workerQueue) {
      if (this.migrationMode !== MigrationMode.ASYNCHRONOUS) {
        throw new Error(`${what}: props.workerQueue is true but props.dataset.migrationMode is ${preview(props.dataset.migrationMode ?? 'synchronous')} (the default is synchronous); only asynchronous datasets emit the desired events the worker queue carries: set migrationMode: 'asynchronous' or remove workerQueue`);
      }
      const opts = props.workerQueueOptions ?? {};
      const maxReceiveCount = opts.maxReceiveCount ?? 3;
      if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
        throw new Error(`${what}: props.workerQueueOptions.maxReceiveCount must be an integer from 1 to 1000, got ${preview(opts.maxReceiveCount)}`);
      }
      for (const key of ['visibilityTimeout', 'retentionPeriod'] as const) {
        if (opts[key] !== undefined && !(opts[key] instanceof Duration)) {
          throw new Error(`${what}: props.workerQueueOptions.${key} must be a Duration, got ${preview(opts[key])}`);
        }
      }
      const retentionPeriod = opts.retentionPeriod ?? Duration.days(14);
      // Both queues: SQS-managed encryption at rest (stated, not left to the account's
      // default), TLS only (a policy denies aws:SecureTransport false).
      const dlq = new sqs.Queue(this, 'WorkerDeadLetterQueue', {
        retentionPeriod,
        enforceSSL: true,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
      });
      const dlqReason = 'This is the dead-letter queue of the worker queue and of the worker rule\'s target: the end of the line for desired events that could not be delivered or kept failing, kept for inspection and redrive; a dead-letter queue of its own would only move them further away.';
      Validations.of(dlq.node.defaultChild ?? dlq).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: dlqReason },
        { id: 'Serverless-SQSRedrivePolicy', reason: dlqReason },
      );
      const queue = new sqs.Queue(this, 'WorkerQueue', {
        visibilityTimeout: opts.visibilityTimeout ?? Duration.minutes(15),
        retentionPeriod,
        deadLetterQueue: { queue: dlq, maxReceiveCount },
        enforceSSL: true,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
      });
      const pattern = call(`${what}: invalid props`, { options: { name: 'props.dataset', value: dataset } }, (core) =>
        core.eventPattern(JSON.stringify({ datasetIds: [this.datasetId], events: ['desired'] })));
      bus = props.eventBus ?? busFromName(this, dataset.eventBusName as string | undefined);
      const rule = new events.Rule(this, 'WorkerRule', {
        eventBus: bus,
        eventPattern: toEventPattern(JSON.parse(pattern)),
        description: `depot-migrate: desired events of dataset ${this.datasetId} to its worker queue`,
      });
      // A desired event EventBridge cannot deliver (queue deleted, policy changed) goes
      // to the same dead-letter queue as a message the worker keeps failing on, after
      // EventBridge's retries.
      rule.addTarget(new targets.SqsQueue(queue, {
        deadLetterQueue: dlq,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }));
      this.workerQueue = queue;
      this.workerDeadLetterQueue = dlq;
      this.workerRule = rule;
    } else if (props.eventBus !== undefined && props.runner === undefined) {
      throw new Error(`${what}: props.eventBus is only used by the worker rule; set workerQueue: true or remove eventBus`);
    }
    if (props.runner !== undefined) {
      if (!(props.runner instanceof MigrationRunner)) {
        throw new Error(`${what}: props.runner must be a MigrationRunner, got ${preview(props.runner)}`);
      }
      props.runner._attach(this, props.package.json,
        bus ?? busFromName(this, dataset.eventBusName as string | undefined));
    }
  }
}

/** The plan as the core returns it (the members read here). */
interface PlanJson {
  readonly fromVersion: string | null;
  readonly toVersion: string;
  readonly planHash: string;
  readonly destructive: boolean;
  readonly steps: ReadonlyArray<{ key: string; kind: string; summary: string; destructive: boolean }>;
}

/** The dataset props as a `*.dataset.json` object (allowDestructive as its JSON value). */
function datasetObject(d: DatasetConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...d };
  const a: unknown = d.allowDestructive;
  if (a instanceof AllowDestructive) {
    out.allowDestructive = a.value;
  }
  return out;
}

/** The bus of `eventBusName` (a name or an ARN), or undefined for the default bus. */
function busFromName(scope: Construct, name: string | undefined): events.IEventBus | undefined {
  if (name === undefined || name === 'default') return undefined;
  return name.startsWith('arn:')
    ? events.EventBus.fromEventBusArn(scope, 'EventBus', name)
    : events.EventBus.fromEventBusName(scope, 'EventBus', name);
}
