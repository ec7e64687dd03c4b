import type { Knex } from "knex";

/**
 * Users assigned to groups, many to many: a group admin or supervisor may oversee several groups
 * (each with its sub-groups). `users.group_id` stays as the user's first group (the API's
 * `groupId`); the assignments decide the scope. Each existing group user's group becomes its first
 * assignment.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("group_members", (t) => {
    t.uuid("group_id").notNullable().references("groups.id").onDelete("RESTRICT");
    t.uuid("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Who assigned the user (no foreign key: the assignment outlives the one who made it).
    t.uuid("created_by").nullable();
    t.primary(["group_id", "user_id"]);
    // The scope of a request is read by user: "the groups this user is assigned to".
    t.index(["user_id", "group_id"]);
  });
  await knex.raw(
    `insert into group_members (group_id, user_id, created_at)
     select group_id, id, created_at from users
      where group_id is not null and role in ('group_admin', 'group_supervisor')`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("group_members");
}
