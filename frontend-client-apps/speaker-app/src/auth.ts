// Speaker sign-in. On AWS: the Cognito user pool (invite-only, TOTP MFA required), with
// amazon-cognito-identity-js doing SRP, the first-login new password, and the TOTP
// challenge or its first-time setup. Locally: the runner's dev identity.
import {
  AuthenticationDetails,
  CognitoUser,
  CognitoUserPool,
  type CognitoUserSession,
} from 'amazon-cognito-identity-js';
import type { AppConfig, CognitoConfig } from '@llt/shared';

/** What the sign-in form must ask the person for, one step at a time. */
export type Prompt =
  | { kind: 'newPassword' }
  | { kind: 'totpCode' }
  | { kind: 'totpSetup'; secret: string; otpauthUri: string };

export interface Asker {
  ask(prompt: Prompt): Promise<string>;
}

export interface TokenSource {
  /** A currently valid ID token (refreshed when needed). */
  idToken(): Promise<string>;
}

export class DevTokenSource implements TokenSource {
  constructor(
    private readonly tokenUrl: string,
    // Wrapped: fetch called as a method of another object throws "Illegal invocation".
    private readonly fetcher: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  async idToken(): Promise<string> {
    const response = await this.fetcher(this.tokenUrl);
    if (!response.ok) throw new Error(`dev token: HTTP ${response.status}`);
    return ((await response.json()) as { idToken: string }).idToken;
  }
}

export class CognitoTokenSource implements TokenSource {
  private readonly pool: CognitoUserPool;
  private user: CognitoUser | null = null;

  constructor(config: CognitoConfig) {
    this.pool = new CognitoUserPool({ UserPoolId: config.userPoolId, ClientId: config.clientId });
  }

  signIn(username: string, password: string, asker: Asker): Promise<void> {
    const user = new CognitoUser({ Username: username, Pool: this.pool });
    const details = new AuthenticationDetails({ Username: username, Password: password });
    return new Promise((resolve, reject) => {
      const callbacks = {
        onSuccess: () => {
          this.user = user;
          resolve();
        },
        onFailure: (error: Error) => reject(error),
        newPasswordRequired: () => {
          void asker.ask({ kind: 'newPassword' }).then((next) => user.completeNewPasswordChallenge(next, {}, callbacks));
        },
        totpRequired: () => {
          void asker.ask({ kind: 'totpCode' }).then((code) => user.sendMFACode(code, callbacks, 'SOFTWARE_TOKEN_MFA'));
        },
        mfaSetup: () => {
          user.associateSoftwareToken({
            associateSecretCode: (secret: string) => {
              const label = encodeURIComponent(`low-latency-translate:${username}`);
              const otpauthUri = `otpauth://totp/${label}?secret=${secret}&issuer=low-latency-translate`;
              void asker.ask({ kind: 'totpSetup', secret, otpauthUri }).then((code) =>
                user.verifySoftwareToken(code, 'speaker-device', callbacks),
              );
            },
            onFailure: (error: Error) => reject(error),
          });
        },
      };
      user.authenticateUser(details, callbacks);
    });
  }

  restore(): boolean {
    this.user = this.pool.getCurrentUser();
    return this.user !== null;
  }

  idToken(): Promise<string> {
    const user = this.user;
    if (!user) return Promise.reject(new Error('not signed in'));
    return new Promise((resolve, reject) => {
      // getSession refreshes an expired ID token with the refresh token.
      user.getSession((error: Error | null, session: CognitoUserSession | null) => {
        if (error || !session) reject(error ?? new Error('no session'));
        else resolve(session.getIdToken().getJwtToken());
      });
    });
  }

  signOut(): void {
    this.user?.signOut();
    this.user = null;
  }
}

export function tokenSourceFor(config: AppConfig): DevTokenSource | CognitoTokenSource {
  return config.auth.mode === 'dev' ? new DevTokenSource(config.auth.tokenUrl) : new CognitoTokenSource(config.auth);
}
