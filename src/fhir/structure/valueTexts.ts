/** Wording for issue texts: what JSON an element wants, and what kind of value it got. */

const JSON_TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'a JSON array',
  null: 'null',
};

export function describeExpected(type: unknown, fhirType: string | undefined): string {
  const types = (Array.isArray(type) ? type : [type]).filter((name) => name !== 'null');
  const names = types.map((name) => {
    const key = String(name);
    return Object.hasOwn(JSON_TYPE_NAMES, key) ? JSON_TYPE_NAMES[key] : key;
  });
  return names.join(' or ') + (fhirType ? ` (FHIR ${fhirType})` : '');
}

/** The kind of value only: the value itself may be personal data. */
export function describeFound(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? 'a whole number' : 'a number with a fraction';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const FORMAT_HINTS: Readonly<Record<string, string>> = {
  date: 'YYYY, YYYY-MM or YYYY-MM-DD',
  dateTime: 'YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone (Z or +hh:mm)',
  instant: 'YYYY-MM-DDThh:mm:ss with a time zone (Z or +hh:mm)',
  time: 'hh:mm:ss',
  id: '1 to 64 letters, digits, "-" or "."',
  code: 'no leading, trailing or repeated whitespace',
  uri: 'no whitespace',
  url: 'no whitespace',
  canonical: 'no whitespace',
  oid: 'urn:oid:1.2.3',
  uuid: 'urn:uuid: and a lower-case UUID',
  string: 'no control characters other than tab, CR and LF',
  markdown: 'no control characters other than tab, CR and LF',
};

export function formatHint(fhirType: string | undefined): string {
  const hint = fhirType !== undefined && Object.hasOwn(FORMAT_HINTS, fhirType) ? FORMAT_HINTS[fhirType] : undefined;
  return hint ? `: expected ${hint}` : '';
}
