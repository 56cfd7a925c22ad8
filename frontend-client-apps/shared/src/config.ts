// Where the gateway is and how speakers sign in: a runtime config.json (written by the
// deployment or served by the local runner), with build-time values as the fallback.
export interface CognitoConfig {
  region: string;
  userPoolId: string;
  clientId: string;
}
export interface AppConfig {
  webSocketUrl: string;
  listenerUrl: string;
  auth: { mode: 'dev'; tokenUrl: string } | ({ mode: 'cognito' } & CognitoConfig);
  /** Target languages per source language this deployment serves; absent: every pair. */
  languages?: Record<string, string[]>;
}

/** Every target language served for some source (what a join page offers before it knows
 * the session's source), or undefined when every pair is served. */
export function servedTargets(config: AppConfig): string[] | undefined {
  if (!config.languages) return undefined;
  return [...new Set(Object.values(config.languages).flat())];
}

export async function loadConfig(fetcher: typeof fetch = fetch): Promise<AppConfig> {
  const env = import.meta.env ?? {};
  const fallback: AppConfig = {
    webSocketUrl: env.VITE_WS_URL ?? `ws://${location.host}/ws`,
    listenerUrl: env.VITE_LISTENER_URL ?? `${location.origin}/listener/`,
    auth: env.VITE_COGNITO_USER_POOL_ID
      ? {
          mode: 'cognito',
          region: env.VITE_COGNITO_REGION ?? 'us-east-1',
          userPoolId: env.VITE_COGNITO_USER_POOL_ID,
          clientId: env.VITE_COGNITO_CLIENT_ID ?? '',
        }
      : { mode: 'dev', tokenUrl: '/dev/token' },
  };
  try {
    const response = await fetcher('/config.json', { cache: 'no-store' });
    if (!response.ok) return fallback;
    return { ...fallback, ...((await response.json()) as Partial<AppConfig>) };
  } catch {
    return fallback;
  }
}
