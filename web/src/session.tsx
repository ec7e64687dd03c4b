import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { ApiError, api, onSessionEnded, setCsrfToken } from "./api";
import type { Session } from "./types";

interface SessionState {
  /** undefined while the console asks who it is after a load. */
  session: Session | null | undefined;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

/** Who the console is: asked once after a load (`/sessions/current`), set by signing in and out. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  const adopt = useCallback((next: Session | null) => {
    setCsrfToken(next?.csrfToken ?? null);
    setSession(next);
  }, []);

  useEffect(() => {
    onSessionEnded(() => adopt(null));
    api
      .get<Session>("/api/v1/sessions/current", { quietUnauthorized: true })
      .then(adopt)
      .catch(() => adopt(null));
  }, [adopt]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      adopt(await api.post<Session>("/api/v1/sessions", { email, password }, { quietUnauthorized: true }));
    },
    [adopt],
  );

  const signOut = useCallback(async () => {
    try {
      await api.delete("/api/v1/sessions/current");
    } catch (error) {
      // An already ended session is signed out all the same.
      if (!(error instanceof ApiError && error.problem.status === 401)) throw error;
    }
    adopt(null);
  }, [adopt]);

  const value = useMemo(() => ({ session, signIn, signOut }), [session, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error("useSession outside SessionProvider");
  return state;
}

/** The signed-in session; only inside pages that are shown when signed in. */
export function useSignedIn(): Session {
  const { session } = useSession();
  if (!session) throw new Error("useSignedIn without a session");
  return session;
}
