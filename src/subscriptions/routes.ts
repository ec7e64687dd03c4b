import { defineRoute, forRoles, type Route } from "../http/route.js";
import { roles } from "../tenancy/roles.js";
import type { SubscriptionRequests } from "./requests.js";
import * as s from "./schemas.js";

const anyRole = forRoles(...roles);
// A group supervisor only reads; a group admin acts within its groups (the account's scope check).
const requesters = forRoles("operator", "company_admin", "group_admin");
const operators = forRoles("operator");

export function subscriptionRoutes(requests: SubscriptionRequests): Route[] {
  const tags = ["subscriptions"];
  const outcome = (description: string) => ({ status: 200, description, schema: s.requestOutcomeSchema });
  return [
    defineRoute({
      operationId: "requestActivation",
      method: "post",
      path: "/api/v1/accounts/{id}/activation-request",
      summary: "Ask for an inactive or deactivated device to be activated (an operator approves)",
      tags,
      access: requesters,
      request: { params: s.accountParams, body: s.requestBody },
      response: { ...outcome("The pending request and the subscription"), status: 201 },
      problems: [409],
      handle: (input) => requests.requestActivation(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "requestDeactivation",
      method: "post",
      path: "/api/v1/accounts/{id}/deactivation-request",
      summary: "Give notice: the device stays active to its last contracted day, then is disabled",
      tags,
      access: requesters,
      request: { params: s.accountParams, body: s.requestBody },
      response: { ...outcome("The pending request and the subscription"), status: 201 },
      problems: [409],
      handle: (input) => requests.requestDeactivation(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "approveSubscriptionRequest",
      method: "post",
      path: "/api/v1/accounts/{id}/requests/{requestId}/approve",
      summary: "Approve a pending request (an activation makes the account usable)",
      tags,
      access: operators,
      request: { params: s.requestParams },
      response: outcome("The approved request and the subscription"),
      problems: [409],
      handle: (input) => requests.approve(input.actor, input.params.id, input.params.requestId),
    }),
    defineRoute({
      operationId: "rejectSubscriptionRequest",
      method: "post",
      path: "/api/v1/accounts/{id}/requests/{requestId}/reject",
      summary: "Reject a pending request with a reason; the subscription returns to where it was",
      tags,
      access: operators,
      request: { params: s.requestParams, body: s.rejectBody },
      response: outcome("The rejected request and the subscription"),
      problems: [409],
      handle: (input) => requests.reject(input.actor, input.params.id, input.params.requestId, input.body),
    }),
    defineRoute({
      operationId: "withdrawSubscriptionRequest",
      method: "post",
      path: "/api/v1/accounts/{id}/requests/{requestId}/withdraw",
      summary: "Withdraw a pending request (its requester, or an operator)",
      tags,
      access: requesters,
      request: { params: s.requestParams },
      response: outcome("The withdrawn request and the subscription"),
      problems: [409],
      handle: (input) => requests.withdraw(input.actor, input.params.id, input.params.requestId),
    }),
    defineRoute({
      operationId: "confirmRenewal",
      method: "post",
      path: "/api/v1/accounts/{id}/renewal/confirm",
      summary: "Confirm the renewal (clears renewed-without-notice; allowed ahead of the date)",
      tags,
      access: requesters,
      request: { params: s.accountParams },
      response: { status: 200, description: "The subscription", schema: s.accountSubscriptionSchema },
      problems: [409],
      handle: (input) => requests.confirmRenewal(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "listSubscriptionRequests",
      method: "get",
      path: "/api/v1/accounts/{id}/requests",
      summary: "The account's activation and deactivation requests and their outcomes, newest first",
      tags,
      access: anyRole,
      request: { params: s.accountParams },
      response: { status: 200, description: "The requests", schema: s.requestHistorySchema },
      handle: (input) => requests.history(input.actor, input.params.id),
    }),
  ];
}
