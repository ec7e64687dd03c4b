import { describe, expect, it } from "vitest";
import { conflictOf, uniqueConstraints, withConflicts } from "../../src/db/constraints.js";
import { ConflictError } from "../../src/errors.js";

describe("unique constraint violations as 409s", () => {
  it("names the clash of every constraint in the table", () => {
    for (const [constraint, message] of Object.entries(uniqueConstraints)) {
      const conflict = conflictOf({ code: "23505", constraint });
      expect(conflict).toBeInstanceOf(ConflictError);
      expect(conflict?.message).toBe(message);
    }
  });

  it("finds the constraint in the message when the driver does not name it", () => {
    const error = {
      code: "23505",
      message: 'duplicate key value violates unique constraint "users_email_unique"',
    };
    expect(conflictOf(error)?.message).toBe("a user with this e-mail already exists");
  });

  it("answers a generic conflict for another unique constraint, and nothing for other errors", () => {
    expect(conflictOf({ code: "23505", constraint: "something_else" })?.message).toBe(
      "conflicts with an existing record",
    );
    expect(conflictOf({ code: "23503", constraint: "accounts_group_id_foreign" })).toBeNull();
    expect(conflictOf(new Error("boom"))).toBeNull();
    expect(conflictOf(undefined)).toBeNull();
  });

  it("rethrows what is not a unique violation", async () => {
    const boom = new Error("boom");
    await expect(withConflicts(() => Promise.reject(boom))).rejects.toBe(boom);
    await expect(
      withConflicts(() => Promise.reject({ code: "23505", constraint: "profiles_name_unique" })),
    ).rejects.toThrow("a profile with this name exists in the organisation");
    expect(await withConflicts(async () => 42)).toBe(42);
  });
});
