import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import type { FhirStore } from '../fhir/fhirStore';
import { errorIssue, serviceUnavailableError } from '../outcomes';
import { OperationOutcomeError } from '@medplum/core';

/**
 * A read-only FhirStore that knows one thing: the launch patient's birth date as read when the
 * form was shown. Once the sign-in has ended (or the EHR is down) the answers are still scored
 * by the core, which reads the subject's birth date for its age check: this store answers that
 * read from memory, and anything else as unavailable (nothing is written through it).
 */
export function rememberedPatientStore(patient: { readonly id: string; readonly birthDate: string | undefined } | undefined): FhirStore {
  const unavailable = (): never => {
    throw serviceUnavailableError('The record system cannot be used without a sign-in.');
  };
  return {
    async readResource<T extends Resource>(resourceType: T['resourceType'], id: string): Promise<T> {
      if (resourceType === 'Patient' && patient && id === patient.id) {
        const known: Patient = { resourceType: 'Patient', id, ...(patient.birthDate ? { birthDate: patient.birthDate } : {}) };
        return known as T;
      }
      throw new OperationOutcomeError({ resourceType: 'OperationOutcome', id: 'not-found', issue: [errorIssue('not-found', 'Not known without a sign-in.')] });
    },
    searchResources: async () => unavailable(),
    executeTransaction: async (_bundle: Bundle) => unavailable(),
    checkReady: async () => unavailable(),
    close: async () => undefined,
  };
}
