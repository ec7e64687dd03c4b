import { type ReactNode, useId } from "react";

export interface FieldProps {
  id: string;
  "aria-describedby"?: string;
}

/**
 * A labelled form control. The label names the control by `for`, not by wrapping it: a wrapped
 * select or text box would have its current value in its accessible name ("Group Choose a group").
 * A hint is tied to the control as its description.
 */
export function Field(props: { label: string; hint?: string; children(control: FieldProps): ReactNode }) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children(props.hint ? { id, "aria-describedby": hintId } : { id })}
      {props.hint ? (
        <span id={hintId} className="hint">
          {props.hint}
        </span>
      ) : null}
    </div>
  );
}
