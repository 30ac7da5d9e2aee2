import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import { join } from 'node:path';

import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException, TableStatus } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

import type { TableSpec } from '../cloudformation/template';
import type { ServiceContext } from '../context';

/**
 * DynamoDB, locally: the well-kept dynalite emulator with its LevelDB store under the data
 * directory, served on the runtime's one endpoint. The template's tables are created at start
 * through the real SDK client, so a table the template declares exists before any function runs.
 */

export interface DynamoDbService {
  /** Serves one DynamoDB JSON-protocol request (the body is still unread). */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** Creates the template's tables (existing ones are kept) and waits until they are ACTIVE. Needs the runtime's endpoint to be listening. */
  start(): Promise<void>;
  /** Closes the store. */
  stop(): Promise<void>;
}

/** Creates the service. */
export function createDynamoDbService(ctx: ServiceContext, options: { tables: TableSpec[] }): DynamoDbService {
  const path = join(ctx.dataDir, 'leveldb');
  mkdirSync(path, { recursive: true });
  const server: Server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  return {
    handle(request, response) {
      server.emit('request', request, response);
    },
    async start() {
      // Listening (on an unused loopback port) is what lets close() shut the LevelDB store cleanly.
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const client = new DynamoDBClient({ endpoint: ctx.endpoint, region: ctx.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      try {
        for (const table of options.tables) {
          try {
            await client.send(
              new CreateTableCommand({
                TableName: table.name,
                KeySchema: table.keySchema as CreateTableCommand['input']['KeySchema'],
                AttributeDefinitions: table.attributeDefinitions as CreateTableCommand['input']['AttributeDefinitions'],
                BillingMode: 'PAY_PER_REQUEST',
              }),
            );
            ctx.log('table created', { table: table.name });
          } catch (error) {
            if (!(error instanceof ResourceInUseException)) throw error;
          }
          // dynalite answers CREATING and turns ACTIVE on a timer: the stack is ready when its tables are, as CloudFormation waits for them.
          for (let status: string | undefined; status !== TableStatus.ACTIVE; ) {
            status = (await client.send(new DescribeTableCommand({ TableName: table.name }))).Table?.TableStatus;
            if (status !== TableStatus.ACTIVE) await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
      } finally {
        client.destroy();
      }
    },
    async stop() {
      if (!server.listening) return;
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
