import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AssetHashType, CustomResource, Duration, Lazy, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3_assets from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { writeCachedFile } from './cache';
import { call, preview } from './core';
import { MigrationMode } from './dataset-config';
import type { DatasetMigration } from './dataset-migration';

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
  /**
   * How long the log groups of the function and of the Provider's framework function
   * keep their logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to those log groups when the stack deletes them.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * The most concurrent function instances each asynchronous dataset's worker queue may
   * start (`maxConcurrency` of its event source mapping; 2 to 1000). One dataset never
   * migrates twice at once whatever this is (every run takes the dataset's lock; a second
   * instance finds it held and leaves its message on the queue, and the worker skips a
   * `desired` event that is no longer current), so a burst of `desired` events for one
   * dataset needs no more than the minimum, 2. Different
   * datasets migrate in parallel, each up to this cap: with N asynchronous datasets at
   * most N × this many instances run from queues; `reservedConcurrentExecutions` caps
   * the total.
   * @default 2
   */
  readonly maxConcurrencyPerQueue?: number;
  /**
   * Reserved concurrency of the function: a hard cap on all its instances (custom
   * resources, worker queues and watchdog together), taken from the account's
   * unreserved pool. Not set by default because a reservation fails to deploy in an
   * account whose unreserved concurrency would drop below 100 (new accounts have 10).
   * @default - no reservation: bounded by `maxConcurrencyPerQueue` per queue
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * X-Ray tracing of the function.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;
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
 * On-call engineers reach the databases through it too: `depot-migrate status|history|
 * snapshot|list|wait --runner FUNCTION` (after `grantRead`), and `recover`, `events
 * flush` and `watchdog --runner FUNCTION` (after `grantOperate`) run inside the VPC with
 * the function's own database credentials.
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
  /** The log group of the function. */
  public readonly logGroup: logs.LogGroup;
  /** The log group of the Provider's framework function. */
  public readonly providerLogGroup: logs.LogGroup;
  /** The `maxConcurrency` of each worker queue's event source mapping. */
  public readonly maxConcurrencyPerQueue: number;
  private readonly buses = new Set<string>();
  private operate = false;

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
    const maxConcurrency = props.maxConcurrencyPerQueue ?? 2;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
      throw new Error(`${what}: props.maxConcurrencyPerQueue must be an integer from 2 to 1000 (the range SQS event sources accept), got ${preview(props.maxConcurrencyPerQueue)}`);
    }
    this.maxConcurrencyPerQueue = maxConcurrency;
    if (props.reservedConcurrentExecutions !== undefined
      && (!Number.isInteger(props.reservedConcurrentExecutions) || props.reservedConcurrentExecutions < 1)) {
      throw new Error(`${what}: props.reservedConcurrentExecutions must be a positive integer or absent, got ${preview(props.reservedConcurrentExecutions)}`);
    }
    const retention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    if (!Object.values(logs.RetentionDays).includes(retention)) {
      throw new Error(`${what}: props.logRetention must be a logs.RetentionDays value, got ${preview(props.logRetention)}`);
    }
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;
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

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention, removalPolicy: logRemovalPolicy });
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    this.function = new lambda.Function(this, 'Function', {
      layers,
      logGroup: this.logGroup,
      tracing: props.tracing,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code,
      architecture: this.architecture,
      vpc: props.vpc,
      vpcSubnets,
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
        // The operator operations the function runs (native/src/lambda/operator.rs):
        // the reads, and what changes state once grantOperate has been called.
        DEPOT_RUNNER_OPERATIONS: Lazy.string({
          produce: () => (this.operate ? [...READ_OPERATIONS, ...OPERATE_OPERATIONS] : READ_OPERATIONS).join(','),
        }),
      },
    });
    props.secret.grantRead(this.function);
    this.grantPutEvents(props.eventBus);

    // The Provider's framework function runs where the runner does: same subnets, same
    // security groups (it only calls the Lambda API and CloudFormation's response URL).
    this.providerLogGroup = new logs.LogGroup(this, 'ProviderLogGroup', { retention, removalPolicy: logRemovalPolicy });
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      vpc: props.vpc,
      vpcSubnets,
      securityGroups: this.function.connections.securityGroups,
      logGroup: this.providerLogGroup,
    });

    this.watchdogRule = new events.Rule(this, 'Watchdog', {
      schedule: props.watchdogSchedule ?? events.Schedule.rate(Duration.minutes(5)),
      description: 'depot-migrate watchdog: records lost runs and runs past their maxDuration as failed',
    });
    this.watchdogRule.addTarget(new targets.LambdaFunction(this.function, {
      event: events.RuleTargetInput.fromObject({ depotMigrate: 'watchdog' }),
    }));
    acknowledgeByDesign(this, props.tracing);
  }

  /**
   * Wires a dataset (called by `DatasetMigration` when its `runner` prop is set).
   * @internal
   */
  public _attach(m: DatasetMigration, packageJson: string, eventBus: events.IEventBus | undefined): void {
    this.grantPutEvents(eventBus);
    if (m.migrationMode === MigrationMode.ASYNCHRONOUS) {
      if (!m.workerQueue) {
        throw new Error(`DatasetMigration ${m.node.path}: an asynchronous dataset with a runner needs its worker queue`);
      }
      m.workerQueue.grantConsumeMessages(this.function);
      const source = new sources.SqsEventSource(m.workerQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: this.maxConcurrencyPerQueue,
      });
      this.function.addEventSource(source);
      // Serverless-LambdaEventSourceMappingDestination asks for an on-failure destination
      // on the mapping: for an SQS source the queue's redrive policy is that destination.
      const mapping = this.function.node.findChild(`SqsEventSource:${Names.nodeUniqueId(m.workerQueue.node)}`);
      Validations.of(mapping).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason: 'An SQS event source needs no on-failure destination of its own: a record that keeps failing returns to the worker queue, whose redrive policy moves it to the worker dead-letter queue after maxReceiveCount receives.',
      });
      return;
    }
    // The bundle format is the core's (core/src/bundle.rs), read by the function.
    const bundle = call(`MigrationRunner ${this.node.path}`, {}, (core) =>
      core.migrationBundle(m.versionHash, m.datasetJson, packageJson, m.planJson));
    const hash = crypto.createHash('sha256').update(bundle).digest('hex');
    const asset = new s3_assets.Asset(m, 'Bundle', {
      path: writeCachedFile('bundles', hash, bundle),
      assetHash: hash,
      assetHashType: AssetHashType.CUSTOM,
    });
    // Exactly this object: not the assets bucket, which holds every stack's code.
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [asset.bucket.arnForObjects(asset.s3ObjectKey)],
    }));
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

  /**
   * Lets `grantee` run the read operations through this runner (`depot-migrate status`,
   * `history`, `snapshot`, `list` and `wait` with `--runner FUNCTION`): exactly
   * `lambda:InvokeFunction` on the function, added to the grantee's policy.
   *
   * @param grantee a role, user or group of this account (e.g. the on-call role)
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantInvoke('grantRead', grantee);
  }

  /**
   * Lets `grantee` run every operation through this runner: the reads, and `recover`,
   * `events flush` and `watchdog` with `--runner FUNCTION`, which history records with
   * the caller's STS identity and the Lambda request id. Exactly `lambda:InvokeFunction`
   * on the function, and the function's `DEPOT_RUNNER_OPERATIONS` allows all operations.
   *
   * The allowed operations belong to the function, not to a grantee: once any grantee
   * may operate, so may every principal that can invoke the function (those of
   * `grantRead` too). Keep readers and operators apart with two runners.
   *
   * @param grantee a role, user or group of this account (e.g. the on-call role)
   */
  public grantOperate(grantee: iam.IGrantable): iam.Grant {
    this.operate = true;
    return this.grantInvoke('grantOperate', grantee);
  }

  private grantInvoke(method: string, grantee: iam.IGrantable): iam.Grant {
    if (grantee === undefined || grantee === null || typeof grantee !== 'object' || !('grantPrincipal' in grantee)) {
      throw new Error(`MigrationRunner ${this.node.path}.${method}: grantee must be an iam.IGrantable (a role, user or group), got ${preview(grantee)}`);
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.function.functionArn],
    });
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

/** The operator operations that change nothing (`operator::READ_OPERATIONS` in engine/src/operator/mod.rs). */
const READ_OPERATIONS = ['status', 'history', 'snapshot', 'list', 'wait'];
/** The ones that change state, allowed by `grantOperate`. */
const OPERATE_OPERATIONS = ['recover', 'eventsFlush', 'watchdog'];

/** The bootstrap.zip this package ships for an architecture (scripts/build-lambda.sh). */
function bundledCode(what: string, arch: lambda.Architecture): lambda.Code {
  const dir = arch.name === lambda.Architecture.ARM_64.name ? 'arm64' : 'x86_64';
  const zip = path.join(__dirname, '..', 'lambda', dir, 'bootstrap.zip');
  if (!fs.existsSync(zip)) {
    throw new Error(`${what}: the ${dir} bootstrap is not in this package (${zip}); build it with scripts/build-lambda.sh ${dir}, choose another architecture, or pass props.code`);
  }
  return lambda.Code.fromAsset(zip);
}


/**
 * The findings of cdk-nag's AwsSolutions and Serverless packs that are by design,
 * acknowledged with `Validations.of(resource).acknowledge` (aws-cdk-lib's own API, read by
 * cdk-nag and by any other validation plugin) on the exact resources; the list and the
 * reasons are in docs/lambda.md.
 */
function acknowledgeByDesign(runner: MigrationRunner, tracing: lambda.Tracing | undefined): void {
  const managed = (role: iam.IRole | undefined, what: string) => {
    if (!role) return;
    const ack = (policy: string, reason: string) => Validations.of(role.node.defaultChild ?? role).acknowledge({
      id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`,
      reason,
    });
    ack('AWSLambdaBasicExecutionRole', `${what} uses the AWS managed policy every Lambda function gets for its own logs (logs:CreateLogStream and logs:PutLogEvents); AWS maintains it and it grants nothing beyond CloudWatch Logs.`);
    ack('AWSLambdaVPCAccessExecutionRole', `${what} runs in the database's VPC and needs the AWS managed policy for its network interfaces (ec2:CreateNetworkInterface, DescribeNetworkInterfaces, DeleteNetworkInterface and the like, which EC2 only supports on Resource *); AWS maintains it.`);
  };
  managed(runner.function.role, 'The migration function');
  const fnResource = runner.function.node.defaultChild as lambda.CfnFunction;
  Validations.of(fnResource).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason: 'Nothing is lost without a function dead-letter queue: custom-resource requests are synchronous invocations whose failure fails the deployment, worker-queue records are redriven by the worker queue to its own dead-letter queue, and the only asynchronous invocation is the watchdog schedule, whose next tick redoes a failed run.',
  });
  if (tracing !== lambda.Tracing.ACTIVE) {
    Validations.of(fnResource).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason: 'X-Ray tracing is opt-in through the tracing prop (Tracing.ACTIVE): a migration is one invocation whose steps, timings and outcome are already in its log group and in its lifecycle events (attempted, deployed, failed).',
    });
  }

  // The CDK Provider framework's function (aws-cdk-lib/custom-resources), created and
  // configured by aws-cdk-lib: it forwards CloudFormation's request to the migration
  // function and the answer back.
  const framework = runner.provider.node.findChild('framework-onEvent') as lambda.Function;
  managed(framework.role, 'The CDK Provider framework function (aws-cdk-lib custom-resources)');
  const frameworkPolicy = framework.role?.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  if (frameworkPolicy) {
    Validations.of(frameworkPolicy.node.defaultChild ?? frameworkPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(runner).getLogicalId(runner.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'The CDK Provider framework grants itself lambda:InvokeFunction on the migration function and its versions and aliases (ARN:*); it is the one function it invokes, and the grant is made by aws-cdk-lib.',
    });
  }
  const frameworkResource = framework.node.defaultChild as lambda.CfnFunction;
  Validations.of(frameworkResource).acknowledge(
    {
      id: 'Serverless-LambdaDLQ',
      reason: 'The CDK Provider framework function answers CloudFormation itself, success or failure, through the pre-signed response URL; a request it cannot answer times out the stack operation. A dead-letter queue would hold nothing CloudFormation waits for.',
    },
    {
      id: 'Serverless-LambdaDefaultMemorySize',
      reason: 'The CDK Provider framework function (aws-cdk-lib) only forwards the request to the migration function and relays the answer; aws-cdk-lib sizes it and exposes no memory setting; the migration function has its own memorySize.',
    },
    {
      id: 'Serverless-LambdaTracing',
      reason: 'The CDK Provider framework function (aws-cdk-lib) exposes no tracing setting; the migration function it invokes is traced when the tracing prop is Tracing.ACTIVE.',
    },
  );

  Validations.of(runner.watchdogRule.node.defaultChild ?? runner.watchdogRule).acknowledge({
    id: 'Serverless-EventBusDLQ',
    reason: 'The watchdog schedule has no dead-letter queue on purpose: a tick that cannot be delivered is not worth keeping, because the next tick (every few minutes) does the same work with fresher state.',
  });
}
