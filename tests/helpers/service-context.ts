import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type LocalEventEntry, type ServiceContext } from '../../local/context';

/**
 * The context one emulated service gets from the runtime, for testing that service on its own:
 * the local region and account, `dataDir` for its state, each published event (deep-copied, as it
 * would be after crossing EventBridge) appended to `events`, no logging. `endpoint` defaults to a
 * port nothing listens on, for services that never call back into the runtime.
 */
export function serviceContext(dataDir: string, events: LocalEventEntry[] = [], endpoint = 'http://127.0.0.1:1'): ServiceContext {
  return {
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    dataDir,
    endpoint,
    publishEvent: async (entry) => {
      events.push(JSON.parse(JSON.stringify(entry)) as LocalEventEntry);
    },
    log: () => undefined,
  };
}
