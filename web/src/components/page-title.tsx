import { useEffect, useRef } from "react";
import { t } from "../strings";

/**
 * The page's heading, focused when the page opens: a screen reader announces where a link or
 * button led, and the keyboard continues from there, as after a full page load.
 */
export function PageTitle({ children }: { children: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${children} · ${t.appName}`;
    ref.current?.focus();
  }, [children]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
