// Starts the warning page (`--warning-page`) in the control plane, next to the lists it judges
// names against: with --workers, the primary serves it from the same registry as the admin API.
import { formatHostPort, type HostPort } from '../config/host-port.js';
import type { Config } from '../config/options.js';
import type { ListRegistry } from '../lists/list-registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { loadPageTexts } from '../warning-page/page-template.js';
import { WarningPageServer } from '../warning-page/warning-page-server.js';
import { StartupError } from './startup-error.js';

export interface WarningPage {
  readonly server: WarningPageServer;
  /**
   * Reads --warning-page-template again (SIGHUP) and serves its texts from the next request on;
   * resolves to one line for the log. A template with problems rejects with a PageTemplateError
   * listing them, and the page keeps its texts.
   */
  reloadTemplate(): Promise<string>;
}

export async function startWarningPage(
  config: Pick<Config, 'warningPageTemplate' | 'hotline' | 'operator' | 'blockMode'>,
  address: HostPort,
  registry: ListRegistry,
  metrics: Metrics,
  logger: Logger,
): Promise<WarningPage> {
  let texts = await loadPageTexts(config.warningPageTemplate);
  let page: WarningPageServer;
  try {
    page = await WarningPageServer.start(address, {
      texts: () => texts,
      hotline: config.hotline,
      operator: config.operator,
      policy: () => registry.store.current,
      onRequest: (outcome) => metrics.warningPageRequests.labels(outcome).inc(),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const hint =
      code === 'EACCES'
        ? 'port 80 needs root or CAP_NET_BIND_SERVICE'
        : code === 'EADDRNOTAVAIL'
          ? 'this host does not have that address; add the sinkhole address to an interface first'
          : 'pick another --warning-page address';
    throw new StartupError('E_LISTEN', `cannot serve the warning page on ${formatHostPort(address)} (${code}): ${hint}`);
  }
  if (config.blockMode !== 'sinkhole') {
    logger.warn(`the warning page is served on ${formatHostPort(address)} but --block-mode is ${config.blockMode}: browsers reach it only with --block-mode sinkhole`);
  }
  logger.info('warning page served', { address: formatHostPort({ host: page.host, port: page.port }) });
  return {
    server: page,
    async reloadTemplate() {
      if (config.warningPageTemplate === 'off') return 'warning page: no template configured, the built-in texts stay';
      texts = await loadPageTexts(config.warningPageTemplate);
      return `warning page template ${config.warningPageTemplate} reloaded`;
    },
  };
}
