export * from './package';
export * from './events';
export * from './dataset-config';
export * from './dataset-migration';
export * from './alerts';
export * from './runner';
export * from './observability';
