// Uses the client types generated from the gateway's merged /openapi.json (api.d.ts, written by
// the contract test), so that `tsc --noEmit` checks the generated file and that a client can
// name every operation's request and answers. Run by services/gateway/tests/it/contract.
import type { components, operations, paths } from "./api";

type Method = "get" | "put" | "post" | "delete" | "patch";

/** Every operation of every path, as a client library walks them. */
type Operations = {
  [P in keyof paths]: {
    [M in Method & keyof paths[P]]: paths[P][M];
  };
};

/** The answers of an operation, by status. */
type Answers<O> = O extends { responses: infer R } ? R : never;

export type Client = Operations;
export type AllAnswers = { [K in keyof operations]: Answers<operations[K]> };
export type Schemas = components["schemas"];
