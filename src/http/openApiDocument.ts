import { TRIAGE_BASE } from '../triage/ruleset';

export interface OpenApiOptions {
  readonly publicBaseUrl: string;
  readonly softwareVersion: string;
  /** AUTH_* set: `$triage` needs a SMART bearer token. */
  readonly auth: boolean;
  /** METRICS_TOKEN set: `/metrics` takes a bearer token instead of loopback only. */
  readonly metricsToken: boolean;
}

type Json = Record<string, unknown>;

const FHIR_JSON = 'application/fhir+json';
const FHIR_SPEC = 'https://hl7.org/fhir/R4';
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const fhirBody = (schema: Json): Json => ({ [FHIR_JSON]: { schema }, 'application/json': { schema } });
const outcome = (description: string, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { [FHIR_JSON]: { schema: ref('OperationOutcome') } },
});
/** CDS Hooks clients are not FHIR clients: its errors are plain JSON. */
const cdsError = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } } } },
});
/** The CDS Hooks JWT is checked when CDS_TRUSTED_ISSUERS names issuers; the empty requirement is the open case. */
const cdsSecurity = [{ cdsHooksJwt: [] }, {}];
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } } };
const requestId = {
  'X-Request-Id': {
    description:
      'The request id: the one sent, if it is a plain token (letters, digits, `._:-`, at most 128), else a generated UUID. Every log line of the request carries it.',
    schema: { type: 'string' },
  },
};

/**
 * The OpenAPI 3.1 description of every route that is not plain FHIR REST (that one is
 * described by the CapabilityStatement at `/fhir/metadata`). Built per deployment, so the
 * security it states is the one this instance enforces.
 */
export function buildOpenApiDocument(options: OpenApiOptions): Json {
  const triageSecurity = options.auth ? [{ smartBearer: [] }] : [];
  const triageResponses = (instance: boolean): Json => ({
    '200': {
      description:
        'Scored (and, unless persist is false, stored in one transaction). A `collection` Bundle of what was stored, or would be: QuestionnaireResponse, RiskAssessment, CarePlan, GuidanceResponse, Provenance and, where care is needed, ServiceRequest and Task; an OperationOutcome entry holds any warnings.',
      headers: requestId,
      content: { [FHIR_JSON]: { schema: ref('Bundle') } },
    },
    '400': outcome(
      instance
        ? 'A `persist` parameter that is not a boolean.'
        : 'Not JSON, not a QuestionnaireResponse (nor a Parameters holding one), or a `persist` parameter that is not a boolean.'
    ),
    ...(options.auth ? { '401': outcome('No valid bearer token.'), '403': outcome('The token lacks the scope for this operation.') } : {}),
    ...(instance ? { '404': outcome('No QuestionnaireResponse with this id.') } : {}),
    '413': outcome('The body is larger than the service accepts.'),
    '429': outcome(
      'More QuestionnaireResponses from this caller in a minute than RESPONSE_LIMIT_PER_MINUTE (or more requests than RATE_LIMIT_PER_MINUTE): wait for Retry-After.',
      retryAfter
    ),
    '422': outcome(
      'The response breaks the Questionnaire or the triage contract; every problem is an issue. When the answers given already show a red flag, the first issue (severity `information`) carries the disposition and its advice.'
    ),
    '502': outcome(
      'The FHIR server refused the write; nothing was saved. Its own issues follow, and an `information` issue carries the disposition and advice.'
    ),
    '503': outcome('The FHIR server could not be reached; nothing was saved. An `information` issue carries the disposition and advice.', retryAfter),
  });
  const persistParameter = {
    name: 'persist',
    in: 'query',
    required: false,
    description: '`false` scores without writing anything. A Parameters body may say the same; either one saying false wins.',
    schema: { type: 'boolean', default: true },
  };
  const subscriptionOperation = (summary: string): Json => ({
    tags: ['intake'],
    summary,
    description:
      'FHIR Subscription receiver: an R4 rest-hook with the resource as payload, an empty-payload ping (the service then searches for new responses), or an R4B/R5/Backport notification Bundle (handshake and heartbeat acknowledged; the focus is fetched from the FHIR server). Idempotent under redelivery.',
    security: [{ webhookSecret: [] }],
    requestBody: {
      required: false,
      content: fhirBody({ oneOf: [ref('QuestionnaireResponse'), ref('Bundle')] }),
    },
    responses: {
      '200': { description: 'Received and processed (or acknowledged, for a handshake or heartbeat).' },
      '204': { description: 'Received; nothing to return.' },
      '400': outcome('Not a notification this receiver understands.'),
      '401': outcome('Missing or wrong WEBHOOK_SECRET, or a signature that is wrong, lacks X-Webhook-Timestamp/X-Webhook-Id, or is more than 300 s old.'),
      '409': outcome('A signed notification whose X-Webhook-Id was already handled: not handled twice.'),
      '415': outcome('A signed notification sent with a Content-Encoding: the signature must be over the bytes received.'),
      '503': outcome('The FHIR server could not be reached; the server should redeliver.', retryAfter),
    },
  });
  const dashboardRange = [
    {
      name: 'from',
      in: 'query',
      required: false,
      description: 'First day of the range (YYYY-MM-DD, clinical time zone).',
      schema: { type: 'string', format: 'date' },
    },
    { name: 'to', in: 'query', required: false, description: 'Last day of the range, included.', schema: { type: 'string', format: 'date' } },
  ];
  const idParameter = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The logical id of a stored QuestionnaireResponse.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9\\-\\.]{1,64}$' },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Hip-pain triage service',
      version: options.softwareVersion,
      summary: 'FHIR-native clinical decision support for hip pain.',
      description:
        "Scores a FHIR QuestionnaireResponse against clinical rules kept as data and writes the results back to a FHIR R4 server. Decision support: it never replaces a clinician's judgement. This document covers every route except plain FHIR REST under `/fhir`, which the CapabilityStatement at `/fhir/metadata` describes.",
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: options.publicBaseUrl }],
    externalDocs: { description: 'The FHIR CapabilityStatement of this server', url: `${options.publicBaseUrl}/fhir/metadata` },
    tags: [
      { name: 'triage', description: 'The `$triage` operation', externalDocs: { url: `${TRIAGE_BASE}/OperationDefinition/QuestionnaireResponse-triage` } },
      { name: 'intake', description: 'FHIR Subscription notifications' },
      { name: 'cds-hooks', description: 'CDS Hooks 2.0', externalDocs: { url: 'https://cds-hooks.hl7.org/2.0/' } },
      { name: 'smart', description: 'SMART App Launch 2.x', externalDocs: { url: 'https://hl7.org/fhir/smart-app-launch/' } },
      { name: 'staff', description: 'The staff work queue' },
      { name: 'operations', description: 'Health, readiness, metrics and this document' },
    ],
    paths: {
      '/fhir/QuestionnaireResponse/$triage': {
        post: {
          tags: ['triage'],
          operationId: 'triage',
          summary: 'Validate, score and write back a QuestionnaireResponse',
          description: `The type form of [${TRIAGE_BASE}/OperationDefinition/QuestionnaireResponse-triage](${TRIAGE_BASE}/OperationDefinition/QuestionnaireResponse-triage). The same response sent again writes nothing new.`,
          security: triageSecurity,
          parameters: [persistParameter],
          requestBody: {
            required: true,
            description: 'The QuestionnaireResponse, or a Parameters with a `response` parameter holding it (and optionally `persist`).',
            content: fhirBody({ oneOf: [ref('QuestionnaireResponse'), ref('TriageParameters')] }),
          },
          responses: triageResponses(false),
        },
      },
      '/fhir/QuestionnaireResponse/{id}/$triage': {
        post: {
          tags: ['triage'],
          operationId: 'triageStored',
          summary: 'Triage a QuestionnaireResponse already stored on the FHIR server',
          security: triageSecurity,
          parameters: [idParameter, persistParameter],
          requestBody: { required: false, description: 'Optional: a Parameters with `persist`.', content: fhirBody(ref('TriageParameters')) },
          responses: triageResponses(true),
        },
      },
      '/fhir/RiskAssessment/{id}/$review': {
        post: {
          tags: ['triage'],
          operationId: 'reviewTriage',
          summary: 'A clinician confirms or overrides a triage',
          description: `[${TRIAGE_BASE}/OperationDefinition/RiskAssessment-review](${TRIAGE_BASE}/OperationDefinition/RiskAssessment-review). Confirm: a Provenance (verify). Override: a new RiskAssessment, the old one amended, the referral replaced per the routing table (more urgent open work is left open beside a review-downgrade Task), a Provenance (update). Always an AuditEvent. The same review sent again records nothing new.${options.auth ? " The reviewer is the token's fhirUser; user/ or system/ scopes only." : ' With auth off, the `reviewer` parameter names the Practitioner.'}`,
          security: triageSecurity,
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              description: 'The logical id of a RiskAssessment this service wrote.',
              schema: { type: 'string', pattern: '^[A-Za-z0-9\\-\\.]{1,64}$' },
            },
            {
              name: 'If-Match',
              in: 'header',
              required: false,
              description: 'W/"<versionId>" of the RiskAssessment as the reviewer loaded it: 409 if it changed since.',
              schema: { type: 'string' },
            },
          ],
          requestBody: { required: true, content: fhirBody(ref('ReviewParameters')) },
          responses: {
            '200': {
              description: 'Recorded (or already recorded: `replayed` true). A Parameters: outcome, replayed, assessment, provenance, auditEvent.',
              headers: requestId,
              content: { [FHIR_JSON]: { schema: ref('Resource') } },
            },
            '400': outcome('Not a Parameters resource, or a malformed If-Match.'),
            ...(options.auth
              ? {
                  '401': outcome('No valid bearer token.'),
                  '403': outcome('A patient-scoped token, scopes short of user/ or system/, or no Practitioner fhirUser.'),
                }
              : {}),
            '404': outcome('No RiskAssessment with this id.'),
            '409': outcome('The triage changed since it was loaded (another review overrode it), or it is no longer current.'),
            '422': outcome('The Parameters break the OperationDefinition; each issue names the parameter.'),
            '503': outcome('The FHIR server could not be reached; nothing was saved.', retryAfter),
          },
        },
      },
      '/subscriptions/questionnaire-response': {
        post: { ...subscriptionOperation('Subscription notification (rest-hook POST)'), operationId: 'notifyPost' },
        put: { ...subscriptionOperation('Subscription notification (rest-hook PUT)'), operationId: 'notifyPut' },
      },
      '/subscriptions/questionnaire-response/QuestionnaireResponse/{id}': {
        parameters: [idParameter],
        post: { ...subscriptionOperation('Subscription notification for one response (POST)'), operationId: 'notifyResourcePost' },
        put: {
          ...subscriptionOperation('Subscription notification for one response (servers send `PUT {endpoint}/QuestionnaireResponse/{id}`)'),
          operationId: 'notifyResourcePut',
        },
      },
      '/cds-services': {
        get: {
          tags: ['cds-hooks'],
          operationId: 'cdsDiscovery',
          summary: 'CDS Hooks discovery',
          responses: {
            '200': {
              description: 'The services offered: `hip-pain-triage` for the `patient-view` hook.',
              content: { 'application/json': { schema: ref('CdsDiscovery') } },
            },
          },
        },
      },
      '/cds-services/hip-pain-triage': {
        post: {
          tags: ['cds-hooks'],
          operationId: 'cdsPatientView',
          summary: "patient-view: cards for the patient's latest triage, or one to start it",
          description:
            'With a recent triage by this service: a card with its disposition (indicator `critical` for emergency and urgent, `warning` for GP, `info` otherwise), a one-line summary, the reasons in `detail`, and a `smart` link to review it. Without one: an `info` card with a `smart` link to start the triage. Data comes from `prefetch`, or else is fetched from `fhirServer` with `fhirAuthorization`.',
          security: cdsSecurity,
          requestBody: { required: true, content: { 'application/json': { schema: ref('CdsRequest') } } },
          responses: {
            '200': { description: 'Cards.', content: { 'application/json': { schema: ref('CdsResponse') } } },
            '400': cdsError('Not a CDS Hooks request for `patient-view`.'),
            '401': cdsError('Missing or untrusted CDS Hooks JWT (issuers in CDS_TRUSTED_ISSUERS).'),
            '412': cdsError('No prefetch and no usable `fhirServer` with `fhirAuthorization`: the data needed could not be had.'),
          },
        },
      },
      '/cds-services/hip-pain-triage/feedback': {
        post: {
          tags: ['cds-hooks'],
          operationId: 'cdsFeedback',
          summary: 'Feedback on the cards shown (accepted or overridden)',
          security: cdsSecurity,
          requestBody: { required: true, content: { 'application/json': { schema: ref('CdsFeedback') } } },
          responses: {
            '200': { description: 'Recorded.', content: { 'application/json': { schema: { type: 'object' } } } },
            '400': cdsError('Not a CDS Hooks feedback body.'),
            '401': cdsError('Missing or untrusted CDS Hooks JWT (issuers in CDS_TRUSTED_ISSUERS).'),
          },
        },
      },
      '/smart/launch': {
        get: {
          tags: ['smart'],
          operationId: 'smartLaunch',
          summary: 'SMART App Launch entry (EHR launch with `iss` and `launch`; standalone with `iss` only)',
          parameters: [
            {
              name: 'iss',
              in: 'query',
              required: true,
              description: 'The FHIR server the app is launched against.',
              schema: { type: 'string', format: 'uri' },
            },
            { name: 'launch', in: 'query', required: false, description: 'The EHR launch context handle.', schema: { type: 'string' } },
          ],
          responses: {
            '303': { description: 'To the authorization server (redirect URI `/smart/callback`), with a session cookie.' },
            '400': { description: 'No usable `iss`.' },
          },
        },
      },
      '/smart/callback': {
        get: {
          tags: ['smart'],
          operationId: 'smartCallback',
          summary: 'SMART redirect URI: exchanges the code for a token',
          parameters: [
            { name: 'code', in: 'query', required: false, schema: { type: 'string' } },
            { name: 'state', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'error', in: 'query', required: false, description: 'Set by the authorization server when it refused.', schema: { type: 'string' } },
          ],
          responses: {
            '303': { description: 'Signed in: to `/smart/app`, with a new session cookie.' },
            '400': { description: 'Unknown or expired state, or an authorization error.' },
          },
        },
      },
      '/smart/app': {
        get: {
          tags: ['smart'],
          operationId: 'smartApp',
          summary: 'The SMART app: the questionnaire and the triage result for the launched patient',
          description: 'Needs the session cookie that `/smart/callback` sets (signed with SESSION_SECRET).',
          responses: {
            '200': { description: 'The form page.', content: { 'text/html': { schema: { type: 'string' } } } },
            '401': { description: 'No signed-in session: a page saying to open the app again from the record system.' },
          },
        },
      },
      '/smart/submit': {
        post: {
          tags: ['smart'],
          operationId: 'smartSubmit',
          summary: 'The form page script sends the answers (a QuestionnaireResponse) to be scored and saved',
          description: 'Needs the session cookie and the page’s CSRF token in `X-CSRF-Token`.',
          parameters: [{ name: 'X-CSRF-Token', in: 'header', required: true, schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', required: ['response'], properties: { response: { type: 'object' } } } } },
          },
          responses: {
            '200': {
              description: 'Scored (saved, held or not saved): the result page to show.',
              content: { 'application/json': { schema: { type: 'object', required: ['next'], properties: { next: { const: '/smart/result' } } } } },
            },
            '401': {
              description: 'Not tied to a launch: scored only, its advice returned.',
              content: { 'application/json': { schema: ref('SmartProblems') } },
            },
            '403': {
              description: 'From an out-of-date page, or a subject or author that is not the launch’s.',
              content: { 'application/json': { schema: ref('SmartProblems') } },
            },
            '422': {
              description: 'Answers to fix: problems by linkId, red-flag advice first.',
              content: { 'application/json': { schema: ref('SmartProblems') } },
            },
          },
        },
      },
      '/smart/retry': {
        post: {
          tags: ['smart'],
          operationId: 'smartRetry',
          summary: '"Try saving again" / "Save the answers you gave earlier": the held answers, unchanged (same idempotency key)',
          requestBody: {
            required: true,
            content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', required: ['csrf'], properties: { csrf: { type: 'string' } } } } },
          },
          responses: {
            '303': { description: 'To `/smart/result` (or `/smart/app` when nothing is held).' },
            '401': { description: 'No signed-in session.' },
            '403': { description: 'Wrong CSRF token.' },
          },
        },
      },
      '/smart/result': {
        get: {
          tags: ['smart'],
          operationId: 'smartResult',
          summary: 'The result page of the last submission in this session',
          responses: {
            '200': { description: 'The result page.', content: { 'text/html': { schema: { type: 'string' } } } },
            '303': { description: 'No result yet: to `/smart/app`.' },
          },
        },
      },
      '/smart/assets/{path}': {
        get: {
          tags: ['smart'],
          operationId: 'smartAsset',
          summary: 'The app’s static files (scripts, styles, LHC-Forms), brotli or gzip by Accept-Encoding',
          description:
            'With `v` = the file’s content hash (as the pages link it): `Cache-Control: public, max-age=31536000, immutable`; otherwise `no-cache` with an ETag.',
          parameters: [
            { name: 'path', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'v', in: 'query', required: false, description: 'The file’s content hash.', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'The file.' }, '304': { description: 'Unchanged (If-None-Match).' }, '404': { description: 'No such file.' } },
        },
      },
      '/smart/jwks.json': {
        get: {
          tags: ['smart'],
          operationId: 'smartClientJwks',
          summary: 'The SMART app’s public key (`private_key_jwt`), to register as its `jwks_uri`; only with SMART_CLIENT_KEY',
          responses: {
            '200': {
              description: 'A JWK Set.',
              content: { 'application/json': { schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array' } } } } },
            },
            '404': { description: 'No SMART_CLIENT_KEY.' },
          },
        },
      },
      '/queue/dashboard': {
        get: {
          tags: ['staff'],
          operationId: 'staffDashboard',
          summary: 'Staff dashboard: dispositions per week, time to first staff action, review and override rates per rule and disposition, red-flag rate',
          description: `Server-rendered HTML with SVG charts and a table under each. \`from\` and \`to\` (YYYY-MM-DD, both included) choose the range; the last 12 weeks by default. ${options.auth ? 'Needs the /queue staff session.' : 'Open to this machine only: no AUTH_* is set on this instance.'}`,
          parameters: dashboardRange,
          responses: {
            '200': { description: 'The dashboard page.', content: { 'text/html': { schema: { type: 'string' } } } },
            '303': { description: 'Not signed in: to /queue, which starts the sign-in.' },
            '400': { description: 'A range that is not two dates, runs backwards or is longer than 366 days.' },
            '403': { description: 'Not staff, or (auth off) not this machine.' },
          },
        },
      },
      '/queue/dashboard.csv': {
        get: {
          tags: ['staff'],
          operationId: 'staffDashboardCsv',
          summary: 'Every figure of the dashboard as CSV (section, key, measure, value)',
          parameters: dashboardRange,
          responses: {
            '200': { description: 'The figures.', content: { 'text/csv': { schema: { type: 'string' } } } },
            '303': { description: 'Not signed in: to /queue.' },
            '403': { description: 'Not staff.' },
          },
        },
      },
      '/dashboard': {
        get: {
          tags: ['staff'],
          operationId: 'dashboardAlias',
          summary: 'Redirects to /queue/dashboard (where the staff session cookie reaches)',
          responses: { '302': { description: 'To /queue/dashboard, the query kept.' } },
        },
      },
      '/queue/review/{id}': {
        post: {
          tags: ['staff'],
          operationId: 'staffReview',
          summary: "A queue row's Confirm or Override form: RiskAssessment/$review for the signed-in staff member",
          parameters: [
            { name: 'id', in: 'path', required: true, description: 'The RiskAssessment id.', schema: { type: 'string', pattern: '^[A-Za-z0-9\\-\\.]{1,64}$' } },
          ],
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': {
                schema: {
                  type: 'object',
                  required: ['csrf', 'version', 'decision'],
                  properties: {
                    csrf: { type: 'string' },
                    version: { type: 'string' },
                    decision: { enum: ['confirm', 'override'] },
                    disposition: { type: 'string' },
                    reason: { type: 'string' },
                    reasonText: { type: 'string' },
                    reviewer: { type: 'string' },
                  },
                },
              },
            },
          },
          responses: {
            '303': { description: 'Recorded: back to the row (/queue#review-{id}).' },
            '403': { description: 'Not staff, a missing or wrong CSRF token, another Origin, or no Practitioner record for the sign-in.' },
            '409': { description: 'The triage changed since the queue was loaded.' },
            '422': { description: 'The form breaks the review operation (no reason for an override, say).' },
          },
        },
      },
      '/queue': {
        get: {
          tags: ['staff'],
          operationId: 'staffQueue',
          summary: 'Staff work queue: referral Tasks by team and due time',
          description: options.auth
            ? 'Needs a staff session: OpenID Connect sign-in against AUTH_ISSUER, with the STAFF_ROLE_CLAIM role.'
            : 'Open: no AUTH_* is set on this instance.',
          responses: {
            '200': { description: 'The queue page.', content: { 'text/html': { schema: { type: 'string' } } } },
            '302': { description: 'Not signed in: to the OpenID Connect sign-in.' },
            '403': { description: 'Signed in, but not staff (`STAFF_ROLE_CLAIM`).' },
          },
        },
      },
      '/healthz': {
        get: {
          tags: ['operations'],
          operationId: 'liveness',
          summary: 'Liveness: the process is up',
          responses: {
            '200': {
              description: 'Up.',
              content: { 'application/json': { schema: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } } } },
            },
          },
        },
      },
      '/readyz': {
        get: {
          tags: ['operations'],
          operationId: 'readiness',
          summary: 'Readiness: content loaded and indexed, store usable (remote mode: the external FHIR server reached)',
          responses: {
            '200': { description: 'Ready.', content: { 'application/json': { schema: ref('Readiness') } } },
            '503': { description: 'Not ready.', headers: retryAfter, content: { 'application/json': { schema: ref('Readiness') } } },
          },
        },
      },
      '/metrics': {
        get: {
          tags: ['operations'],
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          description: options.metricsToken
            ? 'Needs the `METRICS_TOKEN` bearer token.'
            : 'Served to loopback clients only (judged by the connection, not by headers).',
          security: options.metricsToken ? [{ metricsToken: [] }] : [],
          responses: {
            '200': { description: 'Prometheus text exposition format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } },
            ...(options.metricsToken ? { '401': outcome('No or wrong bearer token.') } : { '403': outcome('Not a loopback client.') }),
          },
        },
      },
      '/openapi.json': {
        get: {
          tags: ['operations'],
          operationId: 'openApi',
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      securitySchemes: {
        smartBearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token from AUTH_ISSUER for AUTH_AUDIENCE, with SMART scopes.',
        },
        webhookSecret: {
          type: 'http',
          scheme: 'bearer',
          description:
            'WEBHOOK_SECRET, as the Subscription sends it in `channel.header`. A notification signed with it is accepted too: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of "<X-Webhook-Timestamp>.<X-Webhook-Id>." and the body bytes as sent>`, with `X-Webhook-Timestamp` (Unix seconds, within 300 s) and `X-Webhook-Id` (8–128 of A–Z a–z 0–9 . _ : -, taken once).',
        },
        cdsHooksJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "The CDS client's JWT, signed by an issuer in CDS_TRUSTED_ISSUERS, `aud` the service endpoint.",
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN.' },
      },
      schemas: SCHEMAS,
    },
  };
}

const coding = { type: 'object', properties: { system: { type: 'string' }, code: { type: 'string' }, display: { type: 'string' } } };
const reference = { type: 'object', properties: { reference: { type: 'string' }, display: { type: 'string' } } };

/** Shapes for what clients need to read; the FHIR ones are outlines, the FHIR R4 specification is normative. */
const SCHEMAS: Json = {
  Resource: {
    type: 'object',
    required: ['resourceType'],
    properties: { resourceType: { type: 'string' }, id: { type: 'string' }, meta: { type: 'object' } },
    externalDocs: { url: `${FHIR_SPEC}/resource.html` },
  },
  OperationOutcome: {
    type: 'object',
    required: ['resourceType', 'issue'],
    properties: {
      resourceType: { const: 'OperationOutcome' },
      id: { type: 'string' },
      issue: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['severity', 'code'],
          properties: {
            severity: { enum: ['fatal', 'error', 'warning', 'information'] },
            code: { type: 'string' },
            details: { type: 'object', properties: { text: { type: 'string' }, coding: { type: 'array', items: coding } } },
            diagnostics: { type: 'string', description: 'Names the item, e.g. `linkId=pain-score`.' },
            expression: { type: 'array', items: { type: 'string' }, description: 'FHIRPath of the element at fault.' },
          },
        },
      },
    },
    externalDocs: { url: `${FHIR_SPEC}/operationoutcome.html` },
  },
  QuestionnaireResponse: {
    type: 'object',
    required: ['resourceType', 'status'],
    properties: {
      resourceType: { const: 'QuestionnaireResponse' },
      id: { type: 'string' },
      questionnaire: { type: 'string', description: '`https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage|1.0.0`' },
      status: { enum: ['in-progress', 'completed', 'amended', 'entered-in-error', 'stopped'] },
      subject: reference,
      authored: { type: 'string' },
      item: { type: 'array', items: { type: 'object', required: ['linkId'], properties: { linkId: { type: 'string' } } } },
    },
    externalDocs: { url: `${FHIR_SPEC}/questionnaireresponse.html` },
  },
  TriageParameters: {
    type: 'object',
    required: ['resourceType'],
    properties: {
      resourceType: { const: 'Parameters' },
      parameter: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name'],
          properties: { name: { enum: ['response', 'persist'] }, resource: ref('QuestionnaireResponse'), valueBoolean: { type: 'boolean' } },
        },
      },
    },
    externalDocs: { url: `${FHIR_SPEC}/parameters.html` },
  },
  ReviewParameters: {
    type: 'object',
    required: ['resourceType', 'parameter'],
    properties: {
      resourceType: { const: 'Parameters' },
      parameter: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { enum: ['decision', 'disposition', 'reason', 'reviewer'] },
            valueCode: { type: 'string' },
            valueCodeableConcept: { type: 'object' },
            valueReference: { type: 'object', properties: { reference: { type: 'string' } } },
          },
        },
      },
    },
    externalDocs: { url: `${TRIAGE_BASE}/OperationDefinition/RiskAssessment-review` },
  },
  Bundle: {
    type: 'object',
    required: ['resourceType', 'type'],
    properties: {
      resourceType: { const: 'Bundle' },
      type: { type: 'string' },
      timestamp: { type: 'string' },
      entry: { type: 'array', items: { type: 'object', properties: { fullUrl: { type: 'string' }, resource: ref('Resource') } } },
    },
    externalDocs: { url: `${FHIR_SPEC}/bundle.html` },
  },
  SmartProblems: {
    type: 'object',
    description: 'What the SMART form page shows when answers were not accepted as they are.',
    required: ['message', 'problems'],
    properties: {
      message: { type: 'string' },
      problems: {
        type: 'array',
        items: { type: 'object', required: ['text'], properties: { linkId: { type: 'string' }, question: { type: 'string' }, text: { type: 'string' } } },
      },
      advice: { type: 'string', description: 'Advice the answers already give (a red flag), shown first.' },
      urgent: { type: 'boolean' },
    },
  },
  Readiness: {
    type: 'object',
    required: ['status', 'mode', 'store'],
    properties: {
      status: { enum: ['ready', 'not ready'] },
      mode: { enum: ['embedded', 'remote'] },
      store: { enum: ['ok', 'unavailable'] },
      fhirServer: { enum: ['reachable', 'unavailable'], description: 'Remote mode only: whether the external FHIR server answered as an R4 server.' },
    },
  },
  CdsDiscovery: {
    type: 'object',
    required: ['services'],
    properties: {
      services: {
        type: 'array',
        items: {
          type: 'object',
          required: ['hook', 'description', 'id'],
          properties: {
            hook: { type: 'string' },
            title: { type: 'string' },
            description: { type: 'string' },
            id: { type: 'string' },
            prefetch: { type: 'object', additionalProperties: { type: 'string' } },
            usageRequirements: { type: 'string' },
          },
        },
      },
    },
  },
  CdsRequest: {
    type: 'object',
    required: ['hook', 'hookInstance', 'context'],
    properties: {
      hook: { const: 'patient-view' },
      hookInstance: { type: 'string', format: 'uuid' },
      fhirServer: { type: 'string', format: 'uri' },
      fhirAuthorization: {
        type: 'object',
        required: ['access_token', 'token_type', 'expires_in', 'scope', 'subject'],
        properties: {
          access_token: { type: 'string' },
          token_type: { const: 'Bearer' },
          expires_in: { type: 'integer' },
          scope: { type: 'string' },
          subject: { type: 'string' },
          patient: { type: 'string' },
        },
      },
      context: {
        type: 'object',
        required: ['userId', 'patientId'],
        properties: { userId: { type: 'string' }, patientId: { type: 'string' }, encounterId: { type: 'string' } },
      },
      prefetch: { type: 'object', additionalProperties: { oneOf: [ref('Resource'), { type: 'null' }] } },
    },
  },
  CdsCard: {
    type: 'object',
    required: ['summary', 'indicator', 'source'],
    properties: {
      uuid: { type: 'string' },
      summary: { type: 'string', maxLength: 140 },
      detail: { type: 'string', description: 'GitHub-flavoured Markdown.' },
      indicator: { enum: ['info', 'warning', 'critical'] },
      source: {
        type: 'object',
        required: ['label'],
        properties: { label: { type: 'string' }, url: { type: 'string' }, icon: { type: 'string' }, topic: coding },
      },
      links: {
        type: 'array',
        items: {
          type: 'object',
          required: ['label', 'url', 'type'],
          properties: { label: { type: 'string' }, url: { type: 'string' }, type: { enum: ['absolute', 'smart'] }, appContext: { type: 'string' } },
        },
      },
    },
  },
  CdsResponse: {
    type: 'object',
    required: ['cards'],
    properties: { cards: { type: 'array', items: ref('CdsCard') }, systemActions: { type: 'array', items: { type: 'object' } } },
  },
  CdsFeedback: {
    type: 'object',
    required: ['feedback'],
    properties: {
      feedback: {
        type: 'array',
        items: {
          type: 'object',
          required: ['card', 'outcome', 'outcomeTimestamp'],
          properties: {
            card: { type: 'string' },
            outcome: { enum: ['accepted', 'overridden'] },
            acceptedSuggestions: { type: 'array', items: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } },
            overrideReason: { type: 'object', properties: { reason: coding, userComment: { type: 'string' } } },
            outcomeTimestamp: { type: 'string' },
          },
        },
      },
    },
  },
};
