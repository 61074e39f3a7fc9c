import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AssetHashType, CustomResource, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3_assets from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { writeCachedFile } from './cache';
import { preview } from './core';
import type { DatasetMigration } from './dataset-migration';

/** The migration bundle format the runner's function reads (docs/lambda.md). */
const BUNDLE_FORMAT_VERSION = 1;

/** Props of a {@link MigrationRunner}. */
export interface MigrationRunnerProps {
  /** The VPC of the database: the function runs inside it. */
  readonly vpc: ec2.IVpc;
  /**
   * The subnets of the function. They need a route to S3, Secrets Manager, EventBridge
   * and SQS (a NAT gateway or VPC endpoints).
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups of the function; the database's security group must admit them.
   * @default - one new security group with all outbound traffic allowed
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * The database secret in the RDS JSON shape (`username`, `password`, `host`, `port`,
   * `dbname`), e.g. `cluster.secret` of an Aurora PostgreSQL cluster.
   */
  readonly secret: secretsmanager.ISecret;
  /**
   * CPU architecture of the function (the package ships a static `bootstrap` for each).
   * @default lambda.Architecture.X86_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * Function timeout: the longest a migration may run; also its `maxDuration`, after
   * which the watchdog records a run as failed.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;
  /**
   * Function memory in MB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * How often the watchdog runs (lost runs, runs past their `maxDuration`).
   * @default events.Schedule.rate(Duration.minutes(5))
   */
  readonly watchdogSchedule?: events.Schedule;
  /**
   * The event bus of the watchdog's events (datasets' events go to their own `eventBusName`).
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * `sslmode` of the database connections: `require`, `prefer` or `disable`.
   * @default 'require'
   */
  readonly sslMode?: string;
  /**
   * A PEM file with the CA certificates of the database's TLS certificate: for RDS and
   * Aurora, the RDS CA bundle (`global-bundle.pem` from AWS). It is shipped to the
   * function as a layer and named by `PGSSLROOTCERT`; without it only public CAs are
   * trusted, which RDS certificates are not signed by.
   * @default - no extra CA certificates
   */
  readonly caBundleFile?: string;
  /**
   * The function's code: by default the static `bootstrap` this package ships for the
   * architecture. Set it to use a build of your own.
   * @default - the bundled bootstrap.zip of the architecture
   */
  readonly code?: lambda.Code;
}

/**
 * The depot-migrate executor as a Lambda function (`provided.al2023`) inside the
 * database's VPC, so that `cdk deploy` migrates databases no CI runner can reach.
 *
 * Give it to each `DatasetMigration` as `runner`: a synchronous dataset gets a custom
 * resource (through a CDK Provider) whose properties carry its version hash and its
 * migration bundle asset, so a new version migrates during the deployment and a failed
 * migration fails it; an asynchronous dataset gets its worker queue (rule → queue with a
 * dead-letter queue → this function). A schedule runs the watchdog. Permissions are
 * granted as datasets are added: the secret, `events:PutEvents` on each bus, each
 * bundle asset, each queue.
 *
 * @example
 * const runner = new MigrationRunner(this, 'Runner', { vpc, secret: cluster.secret! });
 * new DatasetMigration(this, 'Dogs', { package, dataset, runner });
 */
export class MigrationRunner extends Construct {
  /** The function. */
  public readonly function: lambda.Function;
  /** The CDK Provider whose service token the custom resources use. */
  public readonly provider: cr.Provider;
  /** The watchdog schedule rule. */
  public readonly watchdogRule: events.Rule;
  /** The architecture of the function. */
  public readonly architecture: lambda.Architecture;
  private readonly buses = new Set<string>();

  /**
   * @param scope parent construct
   * @param id construct id
   * @param props the VPC, the secret and options
   */
  constructor(scope: Construct, id: string, props: MigrationRunnerProps) {
    super(scope, id);
    const what = `MigrationRunner ${this.node.path}`;
    if (props === null || typeof props !== 'object') {
      throw new Error(`${what}: props are required ({ vpc, secret }), got ${preview(props)}`);
    }
    if (props.vpc === undefined || props.vpc === null) {
      throw new Error(`${what}: props.vpc is required (the database's VPC), got ${preview(props.vpc)}`);
    }
    if (props.secret === undefined || props.secret === null) {
      throw new Error(`${what}: props.secret is required (the database secret in the RDS JSON shape), got ${preview(props.secret)}`);
    }
    const timeout = props.timeout ?? Duration.minutes(15);
    if (!(timeout instanceof Duration) || timeout.toSeconds() < 60 || timeout.toSeconds() > 900) {
      throw new Error(`${what}: props.timeout must be a Duration from 1 to 15 minutes, got ${preview(props.timeout)}`);
    }
    const memorySize = props.memorySize ?? 512;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
      throw new Error(`${what}: props.memorySize must be an integer from 128 to 10240, got ${preview(props.memorySize)}`);
    }
    const sslMode = props.sslMode ?? 'require';
    if (!['require', 'prefer', 'disable'].includes(sslMode)) {
      throw new Error(`${what}: props.sslMode must be require, prefer or disable, got ${preview(props.sslMode)}`);
    }
    this.architecture = props.architecture ?? lambda.Architecture.X86_64;
    const code = props.code ?? bundledCode(what, this.architecture);

    let layers: lambda.ILayerVersion[] | undefined;
    if (props.caBundleFile !== undefined) {
      if (typeof props.caBundleFile !== 'string' || !fs.existsSync(props.caBundleFile)
        || !fs.readFileSync(props.caBundleFile, 'utf8').includes('-----BEGIN CERTIFICATE-----')) {
        throw new Error(`${what}: props.caBundleFile must be a PEM file of CA certificates (e.g. the RDS global-bundle.pem), got ${preview(props.caBundleFile)}`);
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-migrate-ca-'));
      fs.copyFileSync(props.caBundleFile, path.join(dir, 'depot-migrate-ca.pem'));
      layers = [new lambda.LayerVersion(this, 'CaBundle', {
        code: lambda.Code.fromAsset(dir),
        description: 'depot-migrate: CA certificates of the database (PGSSLROOTCERT)',
      })];
    }

    this.function = new lambda.Function(this, 'Function', {
      layers,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code,
      architecture: this.architecture,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: props.securityGroups,
      timeout,
      memorySize,
      description: 'depot-migrate: migrates datasets (custom resources, worker queues, watchdog)',
      environment: {
        DEPOT_DB_SECRET_ARN: props.secret.secretArn,
        DEPOT_DB_SSLMODE: sslMode,
        DEPOT_EVENT_BUS: props.eventBus?.eventBusName ?? 'default',
        DEPOT_MAX_DURATION: `${timeout.toSeconds()}s`,
        ...(layers ? { PGSSLROOTCERT: '/opt/depot-migrate-ca.pem' } : {}),
        // A heartbeat sets the visibility of the running and waiting records to this.
        DEPOT_SQS_VISIBILITY_SECONDS: `${Math.min(timeout.toSeconds() + 60, 43200)}`,
      },
    });
    props.secret.grantRead(this.function);
    this.grantPutEvents(props.eventBus);

    this.provider = new cr.Provider(this, 'Provider', { onEventHandler: this.function });

    this.watchdogRule = new events.Rule(this, 'Watchdog', {
      schedule: props.watchdogSchedule ?? events.Schedule.rate(Duration.minutes(5)),
      description: 'depot-migrate watchdog: records lost runs and runs past their maxDuration as failed',
    });
    this.watchdogRule.addTarget(new targets.LambdaFunction(this.function, {
      event: events.RuleTargetInput.fromObject({ depotMigrate: 'watchdog' }),
    }));
  }

  /**
   * Wires a dataset (called by `DatasetMigration` when its `runner` prop is set).
   * @internal
   */
  public _attach(m: DatasetMigration, packageJson: string, eventBus: events.IEventBus | undefined): void {
    this.grantPutEvents(eventBus);
    if (m.migrationMode === 'asynchronous') {
      if (!m.workerQueue) {
        throw new Error(`DatasetMigration ${m.node.path}: an asynchronous dataset with a runner needs its worker queue`);
      }
      m.workerQueue.grantConsumeMessages(this.function);
      this.function.addEventSource(new sources.SqsEventSource(m.workerQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
      }));
      return;
    }
    const bundle = JSON.stringify({
      formatVersion: BUNDLE_FORMAT_VERSION,
      versionHash: m.versionHash,
      dataset: JSON.parse(m.datasetJson),
      package: JSON.parse(packageJson),
      plan: JSON.parse(m.planJson),
    });
    const hash = crypto.createHash('sha256').update(bundle).digest('hex');
    const asset = new s3_assets.Asset(m, 'Bundle', {
      path: writeCachedFile('bundles', hash, bundle),
      assetHash: hash,
      assetHashType: AssetHashType.CUSTOM,
    });
    asset.grantRead(this.function);
    const resource = new CustomResource(m, 'Migration', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::DepotMigration',
      properties: {
        versionHash: m.versionHash,
        bundleBucket: asset.s3BucketName,
        bundleKey: asset.s3ObjectKey,
        environmentUri: m.environmentUri,
      },
    });
    // The function needs its permissions before the first Create.
    const policy = this.function.role?.node.tryFindChild('DefaultPolicy');
    if (policy) resource.node.addDependency(policy);
  }

  private grantPutEvents(bus: events.IEventBus | undefined): void {
    const key = bus ? bus.eventBusArn : 'default';
    if (this.buses.has(key)) return;
    this.buses.add(key);
    if (bus) {
      bus.grantPutEventsTo(this.function);
    } else {
      events.EventBus.fromEventBusName(this, `Bus${this.buses.size}`, 'default').grantPutEventsTo(this.function);
    }
  }
}

/** The bootstrap.zip this package ships for an architecture (scripts/build-lambda.sh). */
function bundledCode(what: string, arch: lambda.Architecture): lambda.Code {
  const dir = arch.name === lambda.Architecture.ARM_64.name ? 'arm64' : 'x86_64';
  const zip = path.join(__dirname, '..', 'lambda', dir, 'bootstrap.zip');
  if (!fs.existsSync(zip)) {
    throw new Error(`${what}: the ${dir} bootstrap is not in this package (${zip}); build it with scripts/build-lambda.sh ${dir}, choose another architecture, or pass props.code`);
  }
  return lambda.Code.fromAsset(zip);
}

