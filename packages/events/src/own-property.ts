/**
 * Sets `target[name]` as an own, enumerable, writable property whatever the name: assigning a name that comes from
 * outside (a header, an Avro map key) would, for `__proto__`, set the object's prototype instead and lose the value.
 */
export function setOwnProperty(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}
