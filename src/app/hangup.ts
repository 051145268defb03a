// What SIGHUP does, and nothing more than the README says: reload list files and URL lists, re-read
// the admin token file and the warning page template, reopen the files written by appending (query log, and whatever else
// registered with onReopen; cluster workers reopen theirs). Settings are read once, at start: on
// SIGHUP the configuration is read again only to name each setting that changed and needs a restart,
// so an edit is never silently ignored.
import { ConfigError } from '../config/load-config.js';
import { SERVE_OPTIONS, settingName, type Config } from '../config/options.js';
import type { Logger } from '../log/logger.js';
import type { RunningServer } from './compose-server.js';

export interface HangupContext {
  readonly server: RunningServer;
  /** The settings the server runs with. */
  readonly running: Config;
  /** The configuration as it would be read now (same flags and environment, the config file again). */
  readonly readConfig: () => Config;
  readonly logger: Logger;
}

/** Settings whose value differs between `running` and `next`: `key (old → new)`. */
export function changedSettings(running: Config, next: Config): string[] {
  const show = (value: unknown): string => (typeof value === 'object' ? JSON.stringify(value) : String(value));
  const changed: string[] = [];
  for (const spec of SERVE_OPTIONS) {
    const name = settingName(spec.key) as keyof Config;
    const before = show(running[name]);
    const after = show(next[name]);
    if (before !== after) changed.push(`${spec.key} (${before} → ${after})`);
  }
  return changed;
}

export async function hangup({ server, running, readConfig, logger }: HangupContext): Promise<void> {
  logger.info('SIGHUP: reloading list files and URL lists, re-reading the admin token file and warning page template, reopening the query log');
  const lists = server.reload().then(
    ({ generation }) => logger.info('SIGHUP: lists reloaded', { generation }),
    (error: unknown) => logger.error('SIGHUP: list reload failed; the previous lists stay in effect', { err: error }),
  );
  const token = server.reloadAdminToken().then(
    (what) => logger.info(`SIGHUP: ${what}`),
    (error: unknown) => logger.error(`SIGHUP: ${(error as Error).message}; the previous admin token stays in effect`),
  );
  const template = server.reloadWarningPageTemplate().then(
    (what) => {
      if (what !== undefined) logger.info(`SIGHUP: ${what}`);
    },
    (error: unknown) => logger.error(`SIGHUP: ${(error as Error).message}; the warning page keeps its previous texts`),
  );
  const files = server.reopenFiles().then(({ results, workers }) => {
    for (const result of results) {
      if (result.error) logger.error(`SIGHUP: ${result.name} could not be reopened; writing on to the old file (check that its directory exists and is writable, then send SIGHUP again)`, { err: result.error });
      else logger.info(`SIGHUP: ${result.name} reopened`);
    }
    if (workers !== undefined) logger.info(`SIGHUP: ${workers}`);
  });
  try {
    const changed = changedSettings(running, readConfig());
    if (changed.length > 0) {
      logger.warn(
        `SIGHUP: settings changed in ${running.configFile ?? 'the configuration'} that take effect only after a restart: ${changed.join(', ')}; ` +
          'restart fraudwall to apply them (SIGHUP reloads only the lists, URL lists, admin token file, warning page template and log files)',
        { restartNeeded: changed.map((entry) => entry.slice(0, entry.indexOf(' '))) },
      );
    }
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems.join('; ') : (error as Error).message;
    logger.error(`SIGHUP: the configuration now has problems (${problems}); the running settings stay, fix it before the next restart`);
  }
  await Promise.all([lists, token, template, files]);
}
