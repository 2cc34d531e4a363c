import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { QuiverArgumentError } from "@quiver/format";
import { LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { S3ObjectStore } from "@quiver/store-s3";
import { DISTRIBUTED_ERROR_CODES, openStoreFromUri, redisConnection } from "../src/index.js";

describe("openStoreFromUri", () => {
  it("memory:<name> is one store per name in this process", () => {
    const a = openStoreFromUri("memory:a");
    expect(a).toBeInstanceOf(MemoryObjectStore);
    expect(openStoreFromUri("memory:a")).toBe(a);
    expect(openStoreFromUri("memory:b")).not.toBe(a);
    expect(openStoreFromUri("memory:")).toBeInstanceOf(MemoryObjectStore);
  });

  it("file:// URIs and absolute paths are local directory stores; relative paths need a cwd", () => {
    expect(openStoreFromUri("file:///tmp/quiver-x")).toBeInstanceOf(LocalDirectoryStore);
    expect(openStoreFromUri("/tmp/quiver-x")).toBeInstanceOf(LocalDirectoryStore);
    expect(openStoreFromUri("rel/dir", { cwd: "/tmp" })).toBeInstanceOf(LocalDirectoryStore);
    expect(() => openStoreFromUri("rel/dir")).toThrow(QuiverArgumentError);
  });

  it("s3:// URIs carry bucket, prefix, endpoint, region, path style, conditional create and test credentials", () => {
    const s = openStoreFromUri("s3://my-bucket/some/prefix?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1&forcePathStyle=true&conditionalCreate=check-then-put&accessKeyId=A&secretAccessKey=B") as S3ObjectStore;
    expect(s).toBeInstanceOf(S3ObjectStore);
    expect(s.bucket).toBe("my-bucket");
    expect(s.prefix).toBe("some/prefix/");
    expect(s.conditionalCreate).toBe("check-then-put");
    s.close();
    const bare = openStoreFromUri("s3://my-bucket") as S3ObjectStore;
    expect(bare.prefix).toBe("");
    expect(bare.conditionalCreate).toBe("if-none-match");
    bare.close();
  });

  it("rejects bad URIs with QuiverArgumentError (never echoing them whole)", () => {
    const bad = [
      "", "http://x/y", "s3://", "s3://A_B/x", "s3://ok-bucket/x?unknown=1", "s3://ok-bucket/x?forcePathStyle=yes", "s3://ok-bucket?conditionalCreate=maybe",
      "s3://ok-bucket?accessKeyId=only", "s3://user:pw@ok-bucket/x", "s3://ok-bucket?endpoint=ftp://x", "memory:has space", `s3://ok-bucket/${"x".repeat(5000)}`,
    ];
    for (const u of bad) {
      const e = (() => {
        try {
          openStoreFromUri(u);
        } catch (x) {
          return x;
        }
        return undefined;
      })();
      expect(e, u).toBeInstanceOf(QuiverArgumentError);
      expect((e as Error).message.length, u).toBeLessThan(400);
    }
  });
});

describe("redisConnection", () => {
  it("parses host, port, db, credentials and TLS; rejects other schemes", () => {
    expect(redisConnection("redis://127.0.0.1:6390")).toMatchObject({ host: "127.0.0.1", port: 6390, maxRetriesPerRequest: null });
    expect(redisConnection("rediss://u:p%40ss@h.example/3")).toMatchObject({ host: "h.example", port: 6379, username: "u", password: "p@ss", db: 3, tls: {} });
    for (const u of ["", "http://h:1", "redis://h:1/x", "not a url"]) expect(() => redisConnection(u), u).toThrow(QuiverArgumentError);
  });
});

it("every code of @quiver/distributed is in spec/error-codes.csv, once, with area distributed", () => {
  const csv = readFileSync(fileURLToPath(new URL("../../../spec/error-codes.csv", import.meta.url)), "utf8");
  const rows = csv.split("\n").slice(1).map((l) => l.split(","));
  for (const c of DISTRIBUTED_ERROR_CODES) {
    const hits = rows.filter((r) => r[0] === c);
    expect(hits, c).toHaveLength(1);
    expect(hits[0]![1]).toBe("distributed");
  }
});
