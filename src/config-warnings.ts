import type { Config } from './config.js';

/** A setting that is valid but will not work as meant: logged at start, naming the key. */
export interface ConfigWarning {
  key: string;
  value: string;
  message: string;
}

/**
 * Valid settings that will not do what they are for. `PUBLIC_URL` is where Replicate is told to
 * post its webhooks: Replicate requires an HTTPS webhook URL and follows no redirects, so an
 * `http:` one (even one that redirects to https) receives nothing. TLS usually ends at a reverse
 * proxy in front of `HTTP_PORT`, whose https:// address is the one to give.
 */
export function configWarnings(config: Config): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  if (config.PUBLIC_URL && new URL(config.PUBLIC_URL).protocol !== 'https:') {
    warnings.push({
      key: 'PUBLIC_URL',
      value: config.PUBLIC_URL,
      message:
        `PUBLIC_URL is ${config.PUBLIC_URL}, not https: Replicate requires an HTTPS webhook URL and follows no redirects, ` +
        `so its webhooks will not reach this bot. Put a TLS proxy in front of HTTP_PORT (${config.HTTP_PORT ?? 'unset'}) and set PUBLIC_URL to its https:// address.`,
    });
  }
  return warnings;
}
