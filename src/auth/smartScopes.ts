/**
 * SMART on FHIR resource scopes (App Launch 1.0 `.read`/`.write`/`.*` and 2.0 `.cruds`),
 * parsed once per token into grants that the access decisions consult.
 */

/** SMART v2 permission letters: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/**
 * `patient/`: limited to the token's `patient` (its compartment); `user/`: whatever the
 * signed-in user may see, which the authorisation server decided when it issued the token;
 * `system/`: a backend service acting for itself.
 */
export type ScopeContext = 'patient' | 'user' | 'system';

export interface ScopeGrant {
  readonly context: ScopeContext;
  /** A FHIR resource type, or `*` for every type. */
  readonly resourceType: string;
  readonly permissions: ReadonlySet<Permission>;
}

const V2_ORDER: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];
const V1_PERMISSIONS: Readonly<Record<string, readonly Permission[]>> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};
const SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)$/;

/**
 * The resource grants in a token's scopes. Scopes that are not resource scopes (`openid`,
 * `launch`, `fhirUser`, `offline_access`) grant nothing here. So do v2 scopes narrowed by
 * a query (`patient/Observation.rs?category=laboratory`): honouring the narrowing would
 * need a search-engine check per resource, and ignoring it would grant more than was
 * consented to, so they are left out (the caller gets a 403, never more access). A v2
 * suffix with its letters out of order (`.rc`) is malformed and ignored, as the
 * specification requires.
 */
export function parseScopes(scope: string | readonly string[] | undefined): ScopeGrant[] {
  const words = typeof scope === 'string' ? scope.split(/\s+/) : (scope ?? []);
  const grants: ScopeGrant[] = [];
  for (const word of words) {
    const match = SCOPE.exec(word);
    if (!match) {
      continue;
    }
    const [, context, resourceType, suffix] = match as unknown as [string, ScopeContext, string, string];
    const permissions = V1_PERMISSIONS[suffix] ?? v2Permissions(suffix);
    if (permissions) {
      grants.push({ context, resourceType, permissions: new Set(permissions) });
    }
  }
  return grants;
}

function v2Permissions(suffix: string): Permission[] | undefined {
  let position = 0;
  const permissions: Permission[] = [];
  for (const letter of suffix) {
    const index = V2_ORDER.indexOf(letter as Permission, position);
    if (index < 0) {
      return undefined;
    }
    permissions.push(letter as Permission);
    position = index + 1;
  }
  return permissions.length > 0 ? permissions : undefined;
}

/**
 * How a caller may perform one permission on one type: `unrestricted` (a user or system
 * grant), `patient` (only a patient grant: limited to the token's patient) or `denied`.
 * A patient grant without a `patient` claim in the token is unusable, hence `denied`.
 */
export type GrantReach = 'unrestricted' | 'patient' | 'denied';

export interface WantedAccess {
  readonly resourceType: string;
  readonly permission: Permission;
  /** The token carries a `patient` claim, without which `patient/` grants are unusable. */
  readonly hasPatientClaim: boolean;
}

export function reachOf(grants: readonly ScopeGrant[], { resourceType, permission, hasPatientClaim }: WantedAccess): GrantReach {
  let reach: GrantReach = 'denied';
  for (const grant of grants) {
    if ((grant.resourceType !== resourceType && grant.resourceType !== '*') || !grant.permissions.has(permission)) {
      continue;
    }
    if (grant.context !== 'patient') {
      return 'unrestricted';
    }
    if (hasPatientClaim) {
      reach = 'patient';
    }
  }
  return reach;
}
