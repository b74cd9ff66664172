// runtime/migration-phases.ts: the rollout's two migration steps (node dist/migrate.js
// expand|contract in the image, the VPS compose file and the Kubernetes Jobs). Expand stops
// before the first pending contract migration; contract runs the rest.
import { describe, expect, it } from 'vitest';
import { migrationsOfPhase, runMigrationPhase } from './migration-phases.ts';
import { useTestEnv } from '../testkit/harness.ts';
import { withPgClient } from './pg-client.ts';

const env = useTestEnv();

describe('migration phases', () => {
  it.each<[string[], string[], string[]]>([
    [['1_a', '2_contract-x', '3_b'], ['1_a'], ['1_a', '2_contract-x', '3_b']],
    [
      ['1_a', '2_b'],
      ['1_a', '2_b'],
      ['1_a', '2_b'],
    ],
    [['2_contract-x'], [], ['2_contract-x']],
    [[], [], []],
  ])('pending %j: expand runs %j, contract %j', (pending, expand, contract) => {
    expect(migrationsOfPhase(pending, 'expand')).toEqual(expand);
    expect(migrationsOfPhase(pending, 'contract')).toEqual(contract);
  });

  it('on a database before milestone 5, expand stops before the contract migration and leaves user_id; contract drops it', async () => {
    const db = await env.databaseAt('1764000000003_closing-and-stats');
    const columns = async () => {
      const { rows } = await withPgClient(db.url, (client) =>
        client.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_name = 'bids' AND column_name IN ('user_id', 'bidder_id') ORDER BY 1`,
        ),
      );
      return rows.map((r) => r.column_name);
    };
    try {
      expect(await runMigrationPhase({ databaseUrl: db.url, tree: env.tree, phase: 'expand' })).toEqual([
        '1764000000004_expand-bidder-id',
        '1764000000005_check-bidder-id',
        '1764000000006_validate-bidder-id',
        '1764000000007_index-bidder-request',
      ]);
      // The previous version still writes user_id: it must survive the expand step.
      expect(await columns()).toEqual(['bidder_id', 'user_id']);
      expect(await runMigrationPhase({ databaseUrl: db.url, tree: env.tree, phase: 'expand' }), 'expand again').toEqual([]);
      expect(await runMigrationPhase({ databaseUrl: db.url, tree: env.tree, phase: 'contract' })).toEqual(['1764000000008_contract-user-id']);
      expect(await columns()).toEqual(['bidder_id']);
    } finally {
      await db.drop();
    }
  });
});
