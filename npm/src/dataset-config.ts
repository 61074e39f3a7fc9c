// The enums of a dataset config. Their values are the strings of a `*.dataset.json`
// file, so a JavaScript app may keep writing `engine: 'postgres'`; TypeScript, Python
// and the other jsii languages use the members.

/** The database engine of a dataset (`engine` in a `*.dataset.json` file). */
export enum Engine {
  /** PostgreSQL. */
  POSTGRES = 'postgres',
  /** Amazon Aurora PostgreSQL. */
  AURORA_POSTGRESQL = 'aurora-postgresql',
  /** Snowflake. */
  SNOWFLAKE = 'snowflake',
  /** SQLite (one database file). */
  SQLITE = 'sqlite',
}

/** How a dataset is migrated (`migrationMode` in a `*.dataset.json` file). */
export enum MigrationMode {
  /** The executor applies the new version at once (no `desired` event). */
  SYNCHRONOUS = 'synchronous',
  /** `submit` emits `desired` and a worker applies the version later. */
  ASYNCHRONOUS = 'asynchronous',
}
