import { msg } from '../../i18n/index.js';
import { formatBytes } from './bytes.js';
import { IntakeError } from './refusal.js';

export interface DownloadOptions {
  /** ALLOWED_ATTACHMENT_HOSTS: "host" (default port of the scheme) or "host:port". */
  allowedHosts: readonly string[];
  /** Bytes of body (after any Content-Encoding is undone) past which the download is abandoned. */
  maxBytes: number;
  /** For the whole download: connection, redirects and body. */
  timeoutMs: number;
  /** Redirects followed, each re-checked against the allow-list (default 3). */
  maxRedirects?: number;
  fetch?: typeof fetch;
}

/**
 * Checks a URL before anything is sent to it: http(s) only, no credentials, and a host on the
 * allow-list. `URL.host` leaves out the scheme's default port, so "cdn.discordapp.com" matches
 * https://cdn.discordapp.com/… and https://cdn.discordapp.com:443/…, but not :8443.
 */
function checkUrl(raw: string, allowedHosts: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new IntakeError('invalid_url', msg('error.invalid_url'));
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new IntakeError('unsupported_protocol', msg('error.unsupported_protocol', { protocol: url.protocol }));
  }
  if (url.username !== '' || url.password !== '') {
    throw new IntakeError('credentials_in_url', msg('error.credentials_in_url'));
  }
  const allowed = allowedHosts.map((host) => host.trim().toLowerCase());
  if (!allowed.includes(url.host)) {
    throw new IntakeError('host_not_allowed', msg('error.host_not_allowed', { allowed: allowed.join(', '), host: url.host }));
  }
  return url;
}

function resolveLocation(location: string, base: URL): string {
  try {
    return new URL(location, base).href;
  } catch {
    throw new IntakeError('invalid_url', msg('error.invalid_url.redirect'));
  }
}

function isTimeout(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'));
}

/**
 * Downloads an attachment into memory, refusing anything off the allow-list before a request is
 * made. Redirects are not left to fetch: each hop's target is checked like the first URL, so an
 * allowed host cannot bounce the bot to an internal address.
 */
export async function downloadAttachment(url: string, options: DownloadOptions): Promise<Buffer> {
  const fetchImpl = options.fetch ?? fetch;
  const maxRedirects = options.maxRedirects ?? 3;
  let target = checkUrl(url, options.allowedHosts);
  const signal = AbortSignal.timeout(options.timeoutMs);
  const tooLarge = () => new IntakeError('too_large', msg('error.too_large.download', { limit: formatBytes(options.maxBytes) }));
  const timedOut = () => new IntakeError('timeout', msg('error.timeout', { seconds: Number((options.timeoutMs / 1000).toFixed(1)) }));
  try {
    for (let hop = 0; ; hop++) {
      const response = await fetchImpl(target, { redirect: 'manual', signal });
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel();
        if (hop >= maxRedirects) throw new IntakeError('too_many_redirects', msg('error.too_many_redirects'));
        target = checkUrl(resolveLocation(response.headers.get('location') ?? '', target), options.allowedHosts);
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new IntakeError('http_error', msg('error.http_error', { status: response.status }));
      }
      const declared = Number(response.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        await response.body?.cancel();
        throw tooLarge();
      }
      if (!response.body) return Buffer.alloc(0);
      // Content-Length can be absent or wrong (and is the compressed size when the body is
      // encoded): the bytes that actually arrive are what is counted.
      const reader = response.body.getReader();
      const chunks: Uint8Array[] = [];
      let received = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.byteLength;
        if (received > options.maxBytes) {
          await reader.cancel();
          throw tooLarge();
        }
        chunks.push(value);
      }
      return Buffer.concat(chunks, received);
    }
  } catch (error) {
    if (error instanceof IntakeError) throw error;
    if (isTimeout(error, signal)) throw timedOut();
    const detail = error instanceof Error ? error.message : String(error);
    throw new IntakeError('network_error', msg('error.network_error', { detail }));
  }
}
