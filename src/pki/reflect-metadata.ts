/**
 * The part of the Reflect metadata API that tsyringe (a dependency of @peculiar/x509) insists on
 * at import time. The usual polyfill package is not among the installed dependencies; x509 only
 * stores and reads a few keys through it, so a WeakMap per target is all it needs.
 */
type Target = object;
type MetadataApi = {
  getMetadata?: (key: unknown, target: Target) => unknown;
};

const store = new WeakMap<Target, Map<unknown, unknown>>();

function bucket(target: Target, create: boolean): Map<unknown, unknown> | undefined {
  let map = store.get(target);
  if (!map && create) {
    map = new Map();
    store.set(target, map);
  }
  return map;
}

const reflect = Reflect as unknown as Record<string, unknown> & MetadataApi;
if (typeof reflect.getMetadata !== "function") {
  const getMetadata = (key: unknown, target: Target): unknown => {
    for (let at: Target | null = target; at; at = Object.getPrototypeOf(at) as Target | null) {
      const map = bucket(at, false);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  };
  Object.assign(reflect, {
    defineMetadata: (key: unknown, value: unknown, target: Target) => {
      bucket(target, true)?.set(key, value);
    },
    getOwnMetadata: (key: unknown, target: Target) => bucket(target, false)?.get(key),
    hasOwnMetadata: (key: unknown, target: Target) => bucket(target, false)?.has(key) ?? false,
    getMetadata,
    hasMetadata: (key: unknown, target: Target) => getMetadata(key, target) !== undefined,
    metadata: (key: unknown, value: unknown) => (target: Target) => {
      bucket(target, true)?.set(key, value);
    },
  });
}
