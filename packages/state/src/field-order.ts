/**
 * The fields of T in a fixed order, as a stored tuple holds them; the type refuses a list that leaves one of them out,
 * so a field added to a domain type cannot go unstored.
 */
export const allFieldsOf =
  <T>() =>
  <const F extends readonly (keyof T)[]>(fields: F & ([Exclude<keyof T, F[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, F[number]> })): F =>
    fields;
