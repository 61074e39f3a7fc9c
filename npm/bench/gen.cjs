'use strict';
// Generated packages for the benchmarks: TABLES tables of COLUMNS columns each, and a
// next version of it (a rename, an added column and a changed comment per table).
function pkg(tables, columns, next) {
  const types = [
    { type: 'string', maxLength: 200 }, { type: 'bigint' }, { type: 'decimal', precision: 12, scale: 2 },
    { type: 'boolean', default: false }, { type: 'timestamptz' }, { type: 'json' }, { type: 'uuid' },
  ];
  return {
    namespace: 'bench',
    tables: Array.from({ length: tables }, (_, t) => ({
      name: `table_${t}`,
      comment: next ? `Table ${t}, second version` : `Table ${t}`,
      columns: [
        { name: 'id', type: 'bigint', nullable: false },
        ...Array.from({ length: columns - 1 }, (_, c) => {
          const col = { name: `col_${c}`, ...types[c % types.length], comment: `column ${c} of table ${t}` };
          if (next && c === 0) return { ...col, name: 'col_0_renamed', renamedFrom: 'col_0' };
          return col;
        }),
        ...(next ? [{ name: 'added', type: 'string', maxLength: 50 }] : []),
      ],
      primaryKey: ['id'],
      indexes: [{ name: `table_${t}_col_1_idx`, columns: ['col_1'], unique: false }],
    })),
  };
}

const dataset = {
  environmentId: 'e2e404529091ed2',
  datasetId: 'b3nch0000001',
  datasetAlias: 'Bench',
  engine: 'postgres',
  schema: 'bench',
  migrationMode: 'synchronous',
};

module.exports = { pkg, dataset };
