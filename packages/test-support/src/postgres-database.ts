import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server tests use (trust auth); IMV_TEST_POSTGRES overrides it. */
export const TEST_POSTGRES_URL =
  process.env.IMV_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';

/** A database made for one test run. */
export interface TestDatabase {
  /** Connection URL of the fresh database. */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

async function onMaintenanceDb<T>(
  serverUrl: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `imv_test_<random>` on the test server (through its `postgres` database). */
export async function createTestDatabase(serverUrl = TEST_POSTGRES_URL): Promise<TestDatabase> {
  const name = `imv_test_${randomBytes(6).toString('hex')}`;
  await onMaintenanceDb(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  return {
    url: `${serverUrl}/${name}`,
    name,
    drop: () =>
      onMaintenanceDb(serverUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      ).then(() => undefined),
  };
}
