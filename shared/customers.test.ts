import axios from "axios";
import { startRecorder } from "../test/support/http-recorder.js";
import { createCustomers } from "./customers.js";

describe("createCustomers", () => {
  it("from the secret → case-insensitive, trimmed, comments ignored", async () => {
    const customers = createCustomers({
      list: "# ops\n  AlexEllis \nopenfaas\n\n",
      http: axios.create(),
      now: () => 0,
    });
    await expect(customers.has("alexellis")).resolves.toBe(true);
    await expect(customers.has("OPENFAAS")).resolves.toBe(true);
    await expect(customers.has("mark")).resolves.toBe(false);
    await expect(customers.has("")).resolves.toBe(false);
    await expect(customers.has("# ops")).resolves.toBe(false);
  });

  it("from customers_url → fetched once per TTL, then refreshed", async () => {
    let list = "alexellis\n";
    const server = await startRecorder(() => ({ status: 200, body: list }));
    let clock = 0;
    const customers = createCustomers({
      url: `${server.url}/CUSTOMERS`,
      http: axios.create(),
      now: () => clock,
      ttlMs: 1000,
    });
    try {
      await expect(Promise.all([customers.has("AlexEllis"), customers.has("rgee0")])).resolves.toEqual([true, false]);
      list = "rgee0\n";
      clock = 999;
      await expect(customers.has("rgee0")).resolves.toBe(false);
      expect(server.requests).toHaveLength(1);
      clock = 1001;
      await expect(customers.has("rgee0")).resolves.toBe(true);
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it("URL answering 404 and nothing cached → HttpError 503 naming the status", async () => {
    const server = await startRecorder(() => ({ status: 404, body: "nope" }));
    const customers = createCustomers({ url: `${server.url}/CUSTOMERS`, http: axios.create(), now: () => 0 });
    try {
      await expect(customers.has("alex")).rejects.toMatchObject({
        status: 503,
        message: expect.stringMatching(/answered 404/),
        // The fetch error travels as the cause, for the log (shared/function-handler.ts respond).
        cause: expect.objectContaining({ message: expect.stringMatching(/answered 404$/) }),
      });
    } finally {
      await server.close();
    }
  });

  it("URL unreachable after a good fetch → keeps serving the last good list", async () => {
    const server = await startRecorder(() => ({ status: 200, body: "alex\n" }));
    let clock = 0;
    const customers = createCustomers({ url: `${server.url}/C`, http: axios.create(), now: () => clock, ttlMs: 10 });
    await expect(customers.has("alex")).resolves.toBe(true);
    await server.close();
    clock = 100;
    await expect(customers.has("alex")).resolves.toBe(true);
  });

  it("URL unreachable from the start → 503, not a crash", async () => {
    const customers = createCustomers({ url: "http://127.0.0.1:1/CUSTOMERS", http: axios.create(), now: () => 0 });
    await expect(customers.has("alex")).rejects.toMatchObject({ status: 503 });
  });

  it("neither the secret nor customers_url → an error naming both (and the switch)", () => {
    expect(() => createCustomers({ http: axios.create(), now: () => 0 })).toThrow(
      "customers: set the customers secret or customers_url (or validate_customers=false)",
    );
  });

  it("an empty customers secret → nobody, even with customers_url set (the secret wins)", async () => {
    const customers = createCustomers({ list: "", url: "http://127.0.0.1:1/C", http: axios.create(), now: () => 0 });
    await expect(customers.has("alex")).resolves.toBe(false);
  });

  it("the list is text, never JSON-decoded: a quoted line admits nobody", async () => {
    const server = await startRecorder(() => ({ status: 200, body: '"mallory"' }));
    const customers = createCustomers({ url: `${server.url}/C`, http: axios.create(), now: () => 0 });
    try {
      await expect(customers.has("mallory")).resolves.toBe(false);
      await expect(customers.has('"mallory"')).resolves.toBe(true);
    } finally {
      await server.close();
    }
  });

  it("by default re-fetched after exactly 5 minutes, not before", async () => {
    const server = await startRecorder(() => ({ status: 200, body: "alex\n" }));
    let clock = 0;
    const customers = createCustomers({ url: `${server.url}/C`, http: axios.create(), now: () => clock });
    try {
      await customers.has("alex");
      clock = 5 * 60_000 - 1;
      await customers.has("alex");
      expect(server.requests).toHaveLength(1);
      clock = 5 * 60_000;
      await customers.has("alex");
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
