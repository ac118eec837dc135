/** GET /fhir/metadata: exactly what this endpoint does, no more. */
import type { CapabilityStatement } from '@medplum/fhirtypes';

export function capabilityStatement(baseUrl: string): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-12-04',
    publisher: 'Spreekkamer',
    kind: 'instance',
    software: { name: 'Spreekkamer' },
    implementation: { description: 'Spreekkamer videoconsult: appointments from the EHR', url: `${baseUrl}/fhir` },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Authenticate with the integration API key: Authorization: Bearer spk_…, or with an OAuth2 access token from ' +
          `${baseUrl}/fhir/auth/token (grant_type=client_credentials; client_id = integration id, client_secret = API key). ` +
          'Each key sees only the appointments it made.',
        security: {
          cors: false,
          description: 'API key as a bearer token (the same keys as /api/v1), or an OAuth2 client-credentials access token got with it.',
          extension: [{
            url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
            extension: [{ url: 'token', valueUri: `${baseUrl}/fhir/auth/token` }],
          }],
        },
        resource: [
          {
            type: 'Appointment',
            documentation:
              'The clinic is serviceType.coding (system urn:spreekkamer:clinic); the patient a contained Patient; the clinician a contained ' +
              'Practitioner or a reference by identifier (staff id or e-mail). The patient link comes back in the R5 extension virtualService. ' +
              'Update changes start, duration and contact data, or cancels (status = cancelled). identifier is the EHR\'s id: creating ' +
              'an appointment whose identifier is known returns the existing one.',
            interaction: [{ code: 'read' }, { code: 'create' }, { code: 'update' }, { code: 'search-type' }],
            versioning: 'versioned-update',
            readHistory: false,
            updateCreate: false,
            conditionalCreate: true,
            conditionalRead: 'not-supported',
            conditionalUpdate: false,
            conditionalDelete: 'not-supported',
            searchParam: [
              { name: 'identifier', type: 'token', documentation: 'The EHR\'s appointment id (the system part is not compared).' },
              { name: 'date', type: 'date', documentation: 'Appointment.start; prefixes eq, ge, gt, le, lt; a day is a day in Europe/Amsterdam.' },
              { name: '_count', type: 'number', documentation: 'At most 100 (default 50).' },
            ],
          },
        ],
      },
    ],
  };
}
