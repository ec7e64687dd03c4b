import { type DependencyList, useCallback, useEffect, useRef, useState } from "react";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again; resolves when the new answer is shown. */
  reload(): Promise<void>;
}

/**
 * Loads what a page shows, again when its inputs change or on reload(). Only the newest load's
 * answer is shown: a slow older answer (a previous page, a previous search) never overwrites it.
 */
export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  });
  const newest = useRef(0);
  const current = useRef(load);
  current.current = load;

  const run = useCallback(async () => {
    const generation = ++newest.current;
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await current.current();
      if (generation === newest.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (generation === newest.current) setState((previous) => ({ ...previous, error, loading: false }));
    }
  }, []);

  useEffect(() => {
    void run();
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  }, deps);

  return { ...state, reload: run };
}
