const store = new WeakMap();
const bucket = (t, create) => {
  let m = store.get(t);
  if (!m && create) {
    m = new Map();
    store.set(t, m);
  }
  return m;
};
Reflect.defineMetadata = (k, v, t) => {
  bucket(t, true).set(k, v);
};
Reflect.getOwnMetadata = (k, t) => bucket(t, false)?.get(k);
Reflect.hasOwnMetadata = (k, t) => bucket(t, false)?.has(k) ?? false;
Reflect.getMetadata = (k, t) => {
  for (let o = t; o; o = Object.getPrototypeOf(o)) {
    const m = bucket(o, false);
    if (m?.has(k)) return m.get(k);
  }
  return undefined;
};
Reflect.hasMetadata = (k, t) => Reflect.getMetadata(k, t) !== undefined;
Reflect.metadata = (k, v) => (t) => Reflect.defineMetadata(k, v, t);
