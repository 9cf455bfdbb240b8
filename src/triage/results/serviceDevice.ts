import type { Device, Identifier } from '@medplum/fhirtypes';
import shippedDevice from '../../../fhir-resources/Device-hip-triage-service.json';

/** The service's own Device resource, as shipped: the requester and performer of every result. */
export const SERVICE_DEVICE = shippedDevice as Device;

export function serviceDeviceIdentifier(device: Device): Identifier {
  const identifier = device.identifier?.[0];
  if (!identifier?.system || !identifier.value) {
    throw new Error('The service Device needs an identifier (system and value) to be found again.');
  }
  return identifier;
}
