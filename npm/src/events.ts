/**
 * The four lifecycle events of a dataset migration (the `event` member of
 * `MigrationLifecycleEvent`).
 */
export enum LifecycleEvent {
  /** `desiredVersion` changed: a migration is scheduled (asynchronous datasets only). */
  DESIRED = 'desired',
  /** `attemptedVersion` changed: the migration has started. */
  ATTEMPTED = 'attempted',
  /** `deployedVersion` changed: the migration completed successfully. */
  DEPLOYED = 'deployed',
  /** The migration failed and that was detected; recovery may be needed. */
  FAILED = 'failed',
}

/**
 * The `detail` of a `migration-lifecycle` event from source `tech.stage.depot`, as
 * depot-migrate publishes it on EventBridge. The first seven members are the interface of
 * the Depot migrations observability page (none may be renamed); the others are depot-migrate's additions.
 */
export interface MigrationLifecycleEvent {
  /** Always `lifecycle`. */
  readonly type: string;
  /** The environment id of the dataset. */
  readonly environmentId: string;
  /** The dataset id. */
  readonly datasetId: string;
  /** The dataset alias (an empty string when the dataset config has none). */
  readonly datasetAlias: string;
  /** Where the migration plan lives (the S3 URI of `DatasetMigration.environmentUri`). */
  readonly environmentUri: string;
  /** The version hash this event is about. */
  readonly datasetVersionHash: string;
  /** Which of the dataset's versions changed. */
  readonly event: LifecycleEvent;
  /**
   * The outbox id of the event, stable across redeliveries: deduplicate on it.
   * @default - absent in events from other producers
   */
  readonly eventId?: string;
  /**
   * The revision of the dataset's state after this change.
   * @default - absent in events from other producers
   */
  readonly revision?: number;
  /**
   * One id shared by the events of one submission or execution
   * (desired → attempted → deployed or failed).
   * @default - absent in events from other producers
   */
  readonly runId?: string;
  /**
   * The deployed version the plan starts from (`null` for a fresh database).
   * @default - absent for a fresh database
   */
  readonly previousVersionHash?: string;
  /**
   * The hash of the plan being executed.
   * @default - absent when no plan is involved
   */
  readonly planHash?: string;
  /**
   * The engine id: `postgres`, `aurora-postgresql`, `snowflake` or `sqlite`.
   * @default - absent in events from other producers
   */
  readonly engine?: string;
  /**
   * `synchronous` or `asynchronous`.
   * @default - absent in events from other producers
   */
  readonly migrationMode?: string;
  /**
   * On `failed`: what broke and what had committed (step index and key, statement,
   * SQLSTATE or error class, message without row values, committed steps).
   * @default - absent on other events
   */
  readonly error?: { [key: string]: any };
  /**
   * On events emitted by `depot-migrate recover`: how the failure was resolved, by whom
   * and why.
   * @default - absent on other events
   */
  readonly recovery?: { [key: string]: any };
}
